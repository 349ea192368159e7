// The message codec: every message round-trips, and each decoder refuses malformed and
// oversize input with its own error.
#include <gtest/gtest.h>

#include <set>

#include "consensus/params.h"
#include "net/messages.h"
#include "net/misbehavior.h"
#include "net/protocol.h"
#include "tests/unit/net/net_test_util.h"
#include "wattline/p2p/v1/p2p.pb.h"

namespace wattline::net {
namespace {

namespace pb = ::wattline::p2p::v1;
using test::RegtestMagic;

consensus::Hash256 H(std::uint8_t b) {
  consensus::Hash256 h;
  h.bytes.fill(b);
  return h;
}

template <typename Pb>
Bytes Ser(const Pb& p) {
  const std::string s = p.SerializeAsString();
  return Bytes(s.begin(), s.end());
}

MessageError DecodeErr(Command c, const Bytes& payload) {
  Message m;
  return DecodeMessage(c, payload, m).error;
}

/** Encodes, checks the size against the frame limit, decodes, compares. */
void RoundTrip(const Message& msg) {
  const Bytes payload = EncodePayload(msg);
  const Command c = CommandOf(msg);
  EXPECT_LE(payload.size(), GetCommandInfo(c).max_payload) << CommandName(c);
  Message back;
  const DecodeResult r = DecodeMessage(c, payload, back);
  ASSERT_TRUE(r.ok()) << CommandName(c) << ": " << MessageErrorName(r.error) << " " << r.detail;
  EXPECT_EQ(back, msg) << CommandName(c);
  // And through a frame.
  const Bytes frame = EncodeMessage(RegtestMagic(), msg);
  FrameParser parser(RegtestMagic());
  std::vector<Frame> frames;
  ASSERT_EQ(parser.Feed(frame, frames), FrameError::kOk);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].command, c);
  EXPECT_EQ(frames[0].payload, payload);
}

VersionMsg MaxVersion() {
  VersionMsg v;
  v.protocol_version = UINT32_MAX;
  v.network_magic = RegtestMagic();
  v.best_height = UINT32_MAX;
  v.services = UINT64_MAX;
  v.nonce = UINT64_MAX;
  v.user_agent = std::string(kMaxUserAgent, '~');
  v.timestamp = INT64_MAX;
  v.listen_port = 65535;
  return v;
}

std::vector<InvItem> Items(std::size_t n) {
  std::vector<InvItem> items(n);
  for (std::size_t i = 0; i < n; ++i) {
    items[i].type = i % 2 ? InvType::kBlock : InvType::kTx;
    items[i].hash = H(static_cast<std::uint8_t>(i));
    items[i].hash.bytes[0] = 0xff;
  }
  return items;
}

TEST(MessagesTest, RoundTripEveryMessage) {
  const auto& genesis = consensus::GetParams(consensus::Network::kRegtest).genesis;
  VersionMsg v{kProtocolVersion, RegtestMagic(), 42, kServiceNetwork, 0x1122334455667788, "/wattlined:0.1.0/",
               1'700'000'000, 39733};
  RoundTrip(v);
  RoundTrip(VerackMsg{});
  RoundTrip(PingMsg{7});
  RoundTrip(PongMsg{UINT64_MAX});
  RoundTrip(GetAddrMsg{});
  AddrMsg addr;
  addr.entries.push_back({*Service::Parse("1.2.3.4:9733"), 1, 1'700'000'000});
  addr.entries.push_back({*Service::Parse("[2001:db8::1]:19733"), 0, 0});
  RoundTrip(addr);
  RoundTrip(InvMsg{Items(3)});
  RoundTrip(GetDataMsg{Items(2)});
  RoundTrip(NotFoundMsg{Items(1)});
  RoundTrip(InvMsg{});
  RoundTrip(GetHeadersMsg{{H(1), H(2)}, H(0)});
  RoundTrip(HeadersMsg{{genesis.header, genesis.header}});
  RoundTrip(HeadersMsg{});
  RoundTrip(BlockMsg{genesis});
  RoundTrip(TxMsg{genesis.txs[0]});
  RoundTrip(RejectMsg{RejectCode::kInvalid, "bad-txns-inputs-duplicate", H(9)});
  RoundTrip(RejectMsg{RejectCode::kMalformed, "", std::nullopt});
  RoundTrip(ChannelFrameMsg{{9, 1, 2, 3}});
}

TEST(MessagesTest, LargestValidMessagesFitTheirFrameLimits) {
  RoundTrip(MaxVersion());
  AddrMsg addr;
  for (std::size_t i = 0; i < kMaxAddrEntries; ++i) {
    std::array<std::uint8_t, 16> ip{};
    ip.fill(0xfe);
    addr.entries.push_back({Service{NetAddress::FromIPv6(ip), 65535}, UINT64_MAX, INT64_MAX});
  }
  RoundTrip(addr);
  RoundTrip(InvMsg{Items(kMaxInvItems)});
  RoundTrip(GetDataMsg{Items(kMaxInvItems)});
  RoundTrip(NotFoundMsg{Items(kMaxInvItems)});
  RoundTrip(GetHeadersMsg{std::vector<consensus::Hash256>(kMaxLocatorHashes, H(0xff)), H(0xff)});
  consensus::BlockHeader h;
  h.version = UINT32_MAX;
  h.time = UINT64_MAX;
  h.nonce = UINT64_MAX;
  RoundTrip(HeadersMsg{std::vector<consensus::BlockHeader>(kMaxHeaders, h)});
  RoundTrip(PingMsg{UINT64_MAX});
  RoundTrip(RejectMsg{RejectCode::kInsufficientFee, std::string(kMaxRejectReason, 'x'), H(0xff)});
  RoundTrip(ChannelFrameMsg{consensus::Bytes(kMaxChannelBody, 0xff)});
}

TEST(MessagesTest, GarbageIsBadProtobuf) {
  const Bytes garbage = {0xff, 0xff, 0xff, 0xff, 0xff};
  for (const auto& info : CommandTable()) {
    if (info.max_payload == 0) continue;
    EXPECT_EQ(DecodeErr(info.command, garbage), MessageError::kBadProtobuf) << info.name;
  }
  // A length-delimited field running past the end.
  EXPECT_EQ(DecodeErr(Command::kInv, {0x0a, 0x05, 0x08}), MessageError::kBadProtobuf);
}

TEST(MessagesTest, EmptyMessagesMustBeEmpty) {
  EXPECT_EQ(DecodeErr(Command::kVerack, {0x08, 0x01}), MessageError::kPayloadNotEmpty);
  EXPECT_EQ(DecodeErr(Command::kGetAddr, {0x00}), MessageError::kPayloadNotEmpty);
  EXPECT_EQ(DecodeErr(Command::kVerack, {}), MessageError::kOk);
}

TEST(MessagesTest, Version) {
  auto good = [] {
    pb::Version p;
    p.set_network_magic(std::string(4, 'x'));
    p.set_user_agent("/ok/");
    p.set_timestamp(5);
    p.set_listen_port(9733);
    return p;
  };
  EXPECT_EQ(DecodeErr(Command::kVersion, Ser(good())), MessageError::kOk);
  auto p = good();
  p.set_network_magic("abc");
  EXPECT_EQ(DecodeErr(Command::kVersion, Ser(p)), MessageError::kBadMagic);
  p = good();
  p.clear_network_magic();
  EXPECT_EQ(DecodeErr(Command::kVersion, Ser(p)), MessageError::kBadMagic);
  p = good();
  p.set_user_agent(std::string(kMaxUserAgent + 1, 'a'));
  EXPECT_EQ(DecodeErr(Command::kVersion, Ser(p)), MessageError::kBadUserAgent);
  p = good();
  p.set_user_agent("tab\there");
  EXPECT_EQ(DecodeErr(Command::kVersion, Ser(p)), MessageError::kBadUserAgent);
  p = good();
  p.set_timestamp(-1);
  EXPECT_EQ(DecodeErr(Command::kVersion, Ser(p)), MessageError::kBadTimestamp);
  p = good();
  p.set_listen_port(65536);
  EXPECT_EQ(DecodeErr(Command::kVersion, Ser(p)), MessageError::kBadPort);
}

// Found by fuzz_p2p_messages: with `string` fields, protobuf logged an error line for each
// payload with invalid UTF-8, so any peer could write to our log at will. Text fields are
// `bytes` now; the decoder refuses what is not printable ASCII, silently.
TEST(MessagesTest, InvalidUtf8TextIsRefusedWithoutALogLine) {
  pb::Version v;
  v.set_network_magic(std::string(4, 'x'));
  v.set_user_agent(std::string("\xff\xfe", 2));
  pb::Reject r;
  r.set_code(pb::REJECT_CODE_INVALID);
  r.set_reason(std::string("\xc3\x28", 2));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(DecodeErr(Command::kVersion, Ser(v)), MessageError::kBadUserAgent);
  EXPECT_EQ(DecodeErr(Command::kReject, Ser(r)), MessageError::kBadRejectReason);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(MessagesTest, Addr) {
  auto entry = [](pb::Addr& a) {
    auto* e = a.add_entries();
    e->set_ip(std::string("\x01\x02\x03\x04", 4));
    e->set_port(9733);
    e->set_last_seen(1);
    return e;
  };
  pb::Addr a;
  for (std::size_t i = 0; i < kMaxAddrEntries; ++i) entry(a);
  EXPECT_EQ(DecodeErr(Command::kAddr, Ser(a)), MessageError::kOk);
  entry(a);
  EXPECT_EQ(DecodeErr(Command::kAddr, Ser(a)), MessageError::kTooManyEntries);

  for (std::size_t len : {0u, 3u, 5u, 15u, 17u}) {
    pb::Addr b;
    entry(b)->set_ip(std::string(len, '\x01'));
    EXPECT_EQ(DecodeErr(Command::kAddr, Ser(b)), MessageError::kBadAddress) << len;
  }
  pb::Addr zero;
  entry(zero)->set_ip(std::string(4, '\0'));
  EXPECT_EQ(DecodeErr(Command::kAddr, Ser(zero)), MessageError::kBadAddress);
  pb::Addr port0;
  entry(port0)->set_port(0);
  EXPECT_EQ(DecodeErr(Command::kAddr, Ser(port0)), MessageError::kBadPort);
  pb::Addr port_big;
  entry(port_big)->set_port(65536);
  EXPECT_EQ(DecodeErr(Command::kAddr, Ser(port_big)), MessageError::kBadPort);
  pb::Addr neg;
  entry(neg)->set_last_seen(-5);
  EXPECT_EQ(DecodeErr(Command::kAddr, Ser(neg)), MessageError::kBadTimestamp);
  // An IPv4-mapped IPv6 address decodes as the IPv4 address.
  pb::Addr mapped;
  entry(mapped)->set_ip(std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff\x01\x02\x03\x04", 16));
  Message m;
  ASSERT_TRUE(DecodeMessage(Command::kAddr, Ser(mapped), m).ok());
  EXPECT_EQ(std::get<AddrMsg>(m).entries[0].service.ToString(), "1.2.3.4:9733");
}

TEST(MessagesTest, InvGetDataNotFound) {
  for (Command c : {Command::kInv, Command::kGetData, Command::kNotFound}) {
    pb::Inv inv;  // same wire shape for the three
    auto add = [&inv](int type, std::size_t hash_len) {
      auto* it = inv.add_items();
      it->set_type(static_cast<pb::InvType>(type));
      it->set_hash(std::string(hash_len, '\x07'));
    };
    add(1, 32);
    add(2, 32);
    EXPECT_EQ(DecodeErr(c, Ser(inv)), MessageError::kOk);
    for (int bad_type : {0, 3, 1000, -1}) {
      pb::Inv b = inv;
      auto* it = b.add_items();
      it->set_type(static_cast<pb::InvType>(bad_type));
      it->set_hash(std::string(32, '\x07'));
      EXPECT_EQ(DecodeErr(c, Ser(b)), MessageError::kBadInvType) << bad_type;
    }
    for (std::size_t len : {0u, 31u, 33u}) {
      pb::Inv b = inv;
      auto* it = b.add_items();
      it->set_type(pb::INV_TYPE_TX);
      it->set_hash(std::string(len, '\x07'));
      EXPECT_EQ(DecodeErr(c, Ser(b)), MessageError::kBadHashLength) << len;
    }
    pb::Inv big;
    for (std::size_t i = 0; i <= kMaxInvItems; ++i) {
      auto* it = big.add_items();
      it->set_type(pb::INV_TYPE_BLOCK);
      it->set_hash(std::string(32, '\x01'));
    }
    EXPECT_EQ(DecodeErr(c, Ser(big)), MessageError::kTooManyEntries);
    // The frame limit's slack admits at most one item more than the count limit: the
    // decoder's count check is what holds the line exactly.
    EXPECT_LT(GetCommandInfo(c).max_payload, (kMaxInvItems + 2) * kMaxInvItemWire);
  }
}

TEST(MessagesTest, GetHeaders) {
  pb::GetHeaders p;
  p.set_stop_hash(std::string(32, '\0'));
  EXPECT_EQ(DecodeErr(Command::kGetHeaders, Ser(p)), MessageError::kBadLocator);  // no locator
  for (std::size_t i = 0; i < kMaxLocatorHashes; ++i) p.add_locator(std::string(32, '\x01'));
  EXPECT_EQ(DecodeErr(Command::kGetHeaders, Ser(p)), MessageError::kOk);
  pb::GetHeaders more = p;
  more.add_locator(std::string(32, '\x01'));
  EXPECT_EQ(DecodeErr(Command::kGetHeaders, Ser(more)), MessageError::kBadLocator);
  pb::GetHeaders short_hash = p;
  short_hash.set_locator(3, std::string(31, '\x01'));
  EXPECT_EQ(DecodeErr(Command::kGetHeaders, Ser(short_hash)), MessageError::kBadHashLength);
  pb::GetHeaders no_stop = p;
  no_stop.clear_stop_hash();
  EXPECT_EQ(DecodeErr(Command::kGetHeaders, Ser(no_stop)), MessageError::kBadHashLength);
}

TEST(MessagesTest, Headers) {
  const auto raw = consensus::GetParams(consensus::Network::kRegtest).genesis.header.Encode();
  const std::string header(raw.begin(), raw.end());
  pb::Headers p;
  for (std::size_t i = 0; i < kMaxHeaders; ++i) p.add_headers(header);
  EXPECT_EQ(DecodeErr(Command::kHeaders, Ser(p)), MessageError::kOk);
  pb::Headers more = p;
  more.add_headers(header);
  EXPECT_EQ(DecodeErr(Command::kHeaders, Ser(more)), MessageError::kTooManyEntries);
  for (std::size_t len : {0u, 80u, 87u, 89u}) {
    pb::Headers b;
    b.add_headers(header);
    b.add_headers(std::string(len, '\x01'));
    EXPECT_EQ(DecodeErr(Command::kHeaders, Ser(b)), MessageError::kBadHeaderLength) << len;
  }
}

TEST(MessagesTest, BlockAndTx) {
  const auto& genesis = consensus::GetParams(consensus::Network::kRegtest).genesis;
  const Bytes block = consensus::EncodeBlock(genesis);
  const Bytes tx = consensus::EncodeTransaction(*genesis.txs[0]);
  pb::Block pblock;
  pblock.set_block(std::string(block.begin(), block.end()));
  Message m;
  ASSERT_TRUE(DecodeMessage(Command::kBlock, Ser(pblock), m).ok());
  EXPECT_EQ(std::get<BlockMsg>(m).block.Hash(), genesis.Hash());

  pb::Block trailing = pblock;
  trailing.mutable_block()->push_back('\0');
  const auto r = DecodeMessage(Command::kBlock, Ser(trailing), m);
  EXPECT_EQ(r.error, MessageError::kBadBlockEncoding);
  EXPECT_EQ(r.detail, "trailing-bytes");
  pb::Block truncated = pblock;
  truncated.mutable_block()->pop_back();
  EXPECT_EQ(DecodeErr(Command::kBlock, Ser(truncated)), MessageError::kBadBlockEncoding);
  EXPECT_EQ(DecodeErr(Command::kBlock, {}), MessageError::kEmptyObject);
  pb::Block huge;
  huge.set_block(std::string(consensus::kMaxBlockSize + 1, '\0'));
  EXPECT_EQ(DecodeMessage(Command::kBlock, Ser(huge), m).detail, "object-too-large");

  pb::Tx ptx;
  ptx.set_tx(std::string(tx.begin(), tx.end()));
  ASSERT_TRUE(DecodeMessage(Command::kTx, Ser(ptx), m).ok());
  EXPECT_EQ(std::get<TxMsg>(m).tx->txid(), genesis.txs[0]->txid());
  pb::Tx bad = ptx;
  bad.mutable_tx()->push_back('\x01');
  EXPECT_EQ(DecodeErr(Command::kTx, Ser(bad)), MessageError::kBadTxEncoding);
  EXPECT_EQ(DecodeErr(Command::kTx, {}), MessageError::kEmptyObject);
  // A block's bytes are not a transaction.
  pb::Tx wrong;
  wrong.set_tx(std::string(block.begin(), block.end()));
  EXPECT_EQ(DecodeErr(Command::kTx, Ser(wrong)), MessageError::kBadTxEncoding);
}

TEST(MessagesTest, Reject) {
  pb::Reject p;
  p.set_code(pb::REJECT_CODE_DUPLICATE);
  p.set_reason("txn-already-known");
  EXPECT_EQ(DecodeErr(Command::kReject, Ser(p)), MessageError::kOk);
  for (int code : {0, 7, 255}) {
    pb::Reject b = p;
    b.set_code(static_cast<pb::RejectCode>(code));
    EXPECT_EQ(DecodeErr(Command::kReject, Ser(b)), MessageError::kBadRejectCode) << code;
  }
  pb::Reject long_reason = p;
  long_reason.set_reason(std::string(kMaxRejectReason + 1, 'r'));
  EXPECT_EQ(DecodeErr(Command::kReject, Ser(long_reason)), MessageError::kBadRejectReason);
  pb::Reject ctrl = p;
  ctrl.set_reason("a\nb");
  EXPECT_EQ(DecodeErr(Command::kReject, Ser(ctrl)), MessageError::kBadRejectReason);
  pb::Reject hash = p;
  hash.set_hash(std::string(20, 'h'));
  EXPECT_EQ(DecodeErr(Command::kReject, Ser(hash)), MessageError::kBadHashLength);
}

TEST(MessagesTest, ChannelCarriesOneBodyOfBoundedSize) {
  pb::Channel p;
  EXPECT_EQ(DecodeErr(Command::kChannel, Ser(p)), MessageError::kEmptyObject);
  p.set_body(std::string(kMaxChannelBody, 'c'));
  EXPECT_EQ(DecodeErr(Command::kChannel, Ser(p)), MessageError::kOk);
  p.set_body(std::string(kMaxChannelBody + 1, 'c'));
  EXPECT_EQ(DecodeErr(Command::kChannel, Ser(p)), MessageError::kChannelTooLarge);
}

TEST(MessagesTest, FailureLeavesOutputUntouched) {
  Message m = PingMsg{5};
  EXPECT_FALSE(DecodeMessage(Command::kPong, Bytes{0xff}, m).ok());
  ASSERT_TRUE(std::holds_alternative<PingMsg>(m));
  EXPECT_EQ(std::get<PingMsg>(m).nonce, 5u);
}

TEST(MessagesTest, UnknownFieldsAreIgnored) {
  // Field 15 (a varint) is unknown to this version: a later version may add it.
  Bytes payload = EncodePayload(PingMsg{3});
  payload.push_back(0x78);
  payload.push_back(0x01);
  Message m;
  ASSERT_TRUE(DecodeMessage(Command::kPing, payload, m).ok());
  EXPECT_EQ(std::get<PingMsg>(m).nonce, 3u);
}

TEST(MessagesTest, ErrorNamesAndPenaltiesAreDistinctAndComplete) {
  std::set<std::string_view> names;
  for (int v = 0; v <= static_cast<int>(MessageError::kChannelTooLarge); ++v) {
    const auto e = static_cast<MessageError>(v);
    EXPECT_TRUE(names.insert(MessageErrorName(e)).second) << v;
    EXPECT_EQ(PenaltyFor(e).why, MessageErrorName(e));
    if (e != MessageError::kOk) EXPECT_GT(PenaltyFor(e).score, 0) << MessageErrorName(e);
  }
}

}  // namespace
}  // namespace wattline::net
