// Writes the seed corpora of the P2P fuzz targets (frame_parser, p2p_messages,
// p2p_state_files):
//   build/fuzz/tests/fuzz/wattline-make-p2p-corpus tests/fuzz/corpus
// Deterministic; run after changing the P2P wire format and commit the diff.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "consensus/params.h"
#include "net/addrman.h"
#include "net/banlist.h"
#include "net/messages.h"
#include "net/protocol.h"

using namespace wattline;
using namespace wattline::net;

namespace {

void Write(const std::filesystem::path& dir, const std::string& name, const Bytes& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

consensus::Hash256 H(std::uint8_t b) {
  consensus::Hash256 h;
  h.bytes.fill(b);
  return h;
}

std::vector<std::pair<std::string, Message>> Samples() {
  const auto& params = consensus::GetParams(consensus::Network::kRegtest);
  const auto& genesis = params.genesis;
  AddrMsg addr;
  addr.entries.push_back({*Service::Parse("1.2.3.4:39733"), kServiceNetwork, 1'700'000'000});
  addr.entries.push_back({*Service::Parse("[2001:db8::7]:39733"), 0, 1'700'000'100});
  InvMsg inv{{{InvType::kTx, H(1)}, {InvType::kBlock, H(2)}}};
  return {
      {"version", VersionMsg{kProtocolVersion, params.magic, 7, kServiceNetwork, 0x0102030405060708,
                             "/wattlined:0.1.0/", 1'700'000'000, 39733}},
      {"verack", VerackMsg{}},
      {"ping", PingMsg{42}},
      {"pong", PongMsg{42}},
      {"getaddr", GetAddrMsg{}},
      {"addr", addr},
      {"inv", inv},
      {"getdata", GetDataMsg{inv.items}},
      {"notfound", NotFoundMsg{{inv.items[0]}}},
      {"getheaders", GetHeadersMsg{{genesis.Hash(), H(3)}, consensus::Hash256{}}},
      {"headers", HeadersMsg{{genesis.header}}},
      {"block", BlockMsg{genesis}},
      {"tx", TxMsg{genesis.txs[0]}},
      {"reject", RejectMsg{RejectCode::kInvalid, "bad-txns-inputs-duplicate", H(4)}},
      {"channel", ChannelFrameMsg{{9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0}}},
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  const auto& magic = consensus::GetParams(consensus::Network::kRegtest).magic;
  const Bytes split_seed(8, 0x5a);  // FuzzedDataProvider reads it from the end

  Bytes stream;
  for (const auto& [name, msg] : Samples()) {
    Bytes payload_seed{static_cast<std::uint8_t>(CommandOf(msg))};
    const Bytes payload = EncodePayload(msg);
    payload_seed.insert(payload_seed.end(), payload.begin(), payload.end());
    Write(root / "p2p_messages", name, payload_seed);

    const Bytes frame = EncodeMessage(magic, msg);
    Bytes frame_seed = frame;
    frame_seed.insert(frame_seed.end(), split_seed.begin(), split_seed.end());
    Write(root / "frame_parser", name, frame_seed);
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  Bytes all = stream;
  all.insert(all.end(), split_seed.begin(), split_seed.end());
  Write(root / "frame_parser", "stream-of-all", all);

  // Invalid seeds: one per frame error (each followed by the split seed), and malformed payloads.
  auto with_seed = [&split_seed](Bytes b) {
    b.insert(b.end(), split_seed.begin(), split_seed.end());
    return b;
  };
  Bytes bad_magic = EncodeMessage(consensus::GetParams(consensus::Network::kMain).magic, VerackMsg{});
  Write(root / "frame_parser", "bad-magic", with_seed(bad_magic));
  Bytes bad_cmd = EncodeMessage(magic, VerackMsg{});
  bad_cmd[4] = 'V';
  Write(root / "frame_parser", "bad-command", with_seed(bad_cmd));
  Bytes unknown = EncodeMessage(magic, VerackMsg{});
  unknown[4] = 'x';
  Write(root / "frame_parser", "bad-unknown-command", with_seed(unknown));
  Bytes oversize = EncodeMessage(magic, PingMsg{1});
  oversize[16] = 0xff;
  Write(root / "frame_parser", "bad-oversize", with_seed(oversize));
  Bytes checksum = EncodeMessage(magic, PingMsg{1});
  checksum.back() ^= 1;
  Write(root / "frame_parser", "bad-checksum", with_seed(checksum));

  // State files: the payload of a small address book and ban list (without seal and checksum,
  // which the target adds), after a selector byte.
  const auto tmp = std::filesystem::temp_directory_path() / "wattline-make-p2p-corpus.dat";
  auto payload_of = [&tmp](std::uint8_t selector) {
    std::ifstream in(tmp, std::ios::binary);
    Bytes file((std::istreambuf_iterator<char>(in)), {});
    Bytes out{selector};
    out.insert(out.end(), file.begin() + 12, file.end() - 32);
    return out;
  };
  {
    AddrMan book(magic, AddrMan::Key{7}, 1);
    const NetAddress source = *NetAddress::Parse("9.9.9.9");
    std::vector<AddrEntry> entries;
    for (std::uint8_t i = 1; i <= 6; ++i) entries.push_back({Service{NetAddress::FromIPv4({20, i, 1, i}), 39733}, 1, 1'700'000'000});
    entries.push_back({*Service::Parse("[2001:db8::9]:39733"), 1, 1'700'000'000});
    book.Add(entries, source, 1'700'000'000);
    (void)book.Good(entries[0].service, 1'700'000'000);
    book.Attempt(entries[1].service, 1'700'000'000);
    if (!book.Save(tmp).ok()) return 1;
    Write(root / "p2p_state_files", "addrman", payload_of(0));
    BanList bans(magic);
    bans.Ban(*NetAddress::Parse("1.2.3.4"), 1'700'000'000, 1'900'000'000, "frame-oversize");
    bans.Ban(*Subnet::Parse("10.0.0.0/8"), 1'700'000'000, 1'900'000'000, "manual");
    bans.Ban(*Subnet::Parse("2001:db8::/32"), 1'700'000'000, 1'900'000'000, "");
    if (!bans.Save(tmp).ok()) return 1;
    Write(root / "p2p_state_files", "banlist", payload_of(1));
    std::filesystem::remove(tmp);
  }

  Write(root / "p2p_messages", "bad-protobuf", {static_cast<std::uint8_t>(Command::kInv), 0x0a, 0x05, 0x08});
  Write(root / "p2p_messages", "bad-hash-length",
        {static_cast<std::uint8_t>(Command::kInv), 0x0a, 0x05, 0x08, 0x01, 0x12, 0x01, 0x00});
  Write(root / "p2p_messages", "bad-inv-type",
        {static_cast<std::uint8_t>(Command::kGetData), 0x0a, 0x04, 0x08, 0x07, 0x12, 0x00});
  return 0;
}
