// The address book and ban list files, with any content behind a valid seal (so the checksum
// does not stop the fuzzer at the door): loading never crashes and gives Ok or Corruption; a
// book or list that loaded saves and reloads to the same content.
//
// Input: one byte choosing the file (even: address book, odd: ban list), then the payload.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "consensus/params.h"
#include "fuzz_util.h"
#include "net/addrman.h"
#include "net/banlist.h"
#include "net/file_store.h"

using namespace wattline;
using namespace wattline::net;

namespace {

// docs/p2p.md, "State files".
constexpr FileKind kAddrKind{'W', 'L', 'A', 'B'};
constexpr FileKind kBanKind{'W', 'L', 'B', 'N'};
constexpr std::int64_t kNow = 1'800'000'000;

const std::filesystem::path& Dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("wattline-fuzz-state-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

void WriteRaw(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& magic = consensus::GetParams(consensus::Network::kRegtest).magic;
  const ByteSpan payload(data + 1, size - 1);
  const auto path = Dir() / "state.dat";
  const auto again = Dir() / "again.dat";
  if (data[0] % 2 == 0) {
    WriteRaw(path, SealState(kAddrKind, 1, magic, payload));
    AddrMan book(magic, AddrMan::Key{}, 1);
    const ledger::Status st = book.Load(path);
    FUZZ_CHECK(st.ok() || st.code() == ledger::Status::Code::kCorruption);
    if (!st.ok()) {
      FUZZ_CHECK(book.size() == 0);
      return 0;
    }
    FUZZ_CHECK(book.new_count() + book.tried_count() == book.size());
    FUZZ_CHECK(book.Save(again).ok());
    AddrMan reloaded(magic, AddrMan::Key{}, 1);
    FUZZ_CHECK(reloaded.Load(again).ok());
    FUZZ_CHECK(reloaded.size() == book.size());
    FUZZ_CHECK(reloaded.tried_count() == book.tried_count());
    (void)book.Select(false, kNow);
    (void)book.GetAddr(1000, kNow);
    (void)book.EvictTerrible(kNow);
  } else {
    WriteRaw(path, SealState(kBanKind, 1, magic, payload));
    BanList bans(magic);
    const ledger::Status st = bans.Load(path, kNow);
    FUZZ_CHECK(st.ok() || st.code() == ledger::Status::Code::kCorruption);
    if (!st.ok()) {
      FUZZ_CHECK(bans.size() == 0);
      return 0;
    }
    FUZZ_CHECK(bans.Save(again).ok());
    BanList reloaded(magic);
    FUZZ_CHECK(reloaded.Load(again, kNow).ok());
    FUZZ_CHECK(reloaded.List(kNow) == bans.List(kNow));
    for (const auto& e : bans.List(kNow)) FUZZ_CHECK(bans.IsBanned(e.subnet.base(), kNow));
  }
  return 0;
}
