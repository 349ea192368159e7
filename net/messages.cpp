#include "net/messages.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <type_traits>

#include "net/protocol.h"
#include "wattline/p2p/v1/p2p.pb.h"

namespace wattline::net {
namespace {

namespace pb = ::wattline::p2p::v1;

DecodeResult Fail(MessageError e, std::string detail = {}) { return DecodeResult{e, std::move(detail)}; }

bool PrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool ParseHash(const std::string& bytes, consensus::Hash256& out) {
  if (bytes.size() != consensus::Hash256::kSize) return false;
  std::memcpy(out.data(), bytes.data(), consensus::Hash256::kSize);
  return true;
}

std::string HashBytes(const consensus::Hash256& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }

consensus::ByteSpan AsSpan(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

template <typename Pb>
bool Parse(Pb& pb, consensus::ByteSpan payload) {
  return pb.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
}

// --- decoders, one per message -----------------------------------------------------------

DecodeResult DecodeVersion(consensus::ByteSpan payload, VersionMsg& m) {
  pb::Version p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, "version");
  if (p.network_magic().size() != 4) {
    return Fail(MessageError::kBadMagic, "magic of " + std::to_string(p.network_magic().size()) + " bytes");
  }
  if (p.user_agent().size() > kMaxUserAgent || !PrintableAscii(p.user_agent())) {
    return Fail(MessageError::kBadUserAgent, "user agent of " + std::to_string(p.user_agent().size()) + " bytes");
  }
  if (p.timestamp() < 0) return Fail(MessageError::kBadTimestamp, "timestamp " + std::to_string(p.timestamp()));
  if (p.listen_port() > 65535) return Fail(MessageError::kBadPort, "listen port " + std::to_string(p.listen_port()));
  m.protocol_version = p.protocol_version();
  std::memcpy(m.network_magic.data(), p.network_magic().data(), 4);
  m.best_height = p.best_height();
  m.services = p.services();
  m.nonce = p.nonce();
  m.user_agent = p.user_agent();
  m.timestamp = p.timestamp();
  m.listen_port = static_cast<std::uint16_t>(p.listen_port());
  return {};
}

DecodeResult DecodeEmpty(consensus::ByteSpan payload, std::string_view what) {
  // The frame limit already refuses a payload (max 0); kept for payloads that do not come
  // through a frame (fuzzing, tests).
  if (!payload.empty()) return Fail(MessageError::kPayloadNotEmpty, std::string(what));
  return {};
}

template <typename Pb, typename Msg>
DecodeResult DecodeNonce(consensus::ByteSpan payload, Msg& m, std::string_view what) {
  Pb p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, std::string(what));
  m.nonce = p.nonce();
  return {};
}

DecodeResult DecodeAddr(consensus::ByteSpan payload, AddrMsg& m) {
  pb::Addr p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, "addr");
  if (static_cast<std::size_t>(p.entries_size()) > kMaxAddrEntries) {
    return Fail(MessageError::kTooManyEntries, std::to_string(p.entries_size()) + " addresses");
  }
  m.entries.clear();
  m.entries.reserve(static_cast<std::size_t>(p.entries_size()));
  for (int i = 0; i < p.entries_size(); ++i) {
    const auto& e = p.entries(i);
    const auto where = "entry " + std::to_string(i);
    const auto addr = NetAddress::FromBytes(AsSpan(e.ip()));
    if (!addr || addr->IsUnspecified()) {
      return Fail(MessageError::kBadAddress, where + ": ip of " + std::to_string(e.ip().size()) + " bytes");
    }
    if (e.port() == 0 || e.port() > 65535) return Fail(MessageError::kBadPort, where + ": port " + std::to_string(e.port()));
    if (e.last_seen() < 0) return Fail(MessageError::kBadTimestamp, where + ": last seen " + std::to_string(e.last_seen()));
    m.entries.push_back(AddrEntry{Service{*addr, static_cast<std::uint16_t>(e.port())}, e.services(), e.last_seen()});
  }
  return {};
}

template <typename Pb>
DecodeResult DecodeInvItems(consensus::ByteSpan payload, std::vector<InvItem>& items, std::string_view what) {
  Pb p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, std::string(what));
  if (static_cast<std::size_t>(p.items_size()) > kMaxInvItems) {
    return Fail(MessageError::kTooManyEntries, std::string(what) + " of " + std::to_string(p.items_size()) + " items");
  }
  items.clear();
  items.reserve(static_cast<std::size_t>(p.items_size()));
  for (int i = 0; i < p.items_size(); ++i) {
    const auto& it = p.items(i);
    InvItem item;
    switch (it.type()) {
      case pb::INV_TYPE_TX: item.type = InvType::kTx; break;
      case pb::INV_TYPE_BLOCK: item.type = InvType::kBlock; break;
      default:
        return Fail(MessageError::kBadInvType, "item " + std::to_string(i) + ": type " + std::to_string(it.type()));
    }
    if (!ParseHash(it.hash(), item.hash)) {
      return Fail(MessageError::kBadHashLength,
                  "item " + std::to_string(i) + ": hash of " + std::to_string(it.hash().size()) + " bytes");
    }
    items.push_back(item);
  }
  return {};
}

DecodeResult DecodeGetHeaders(consensus::ByteSpan payload, GetHeadersMsg& m) {
  pb::GetHeaders p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, "getheaders");
  if (p.locator_size() == 0 || static_cast<std::size_t>(p.locator_size()) > kMaxLocatorHashes) {
    return Fail(MessageError::kBadLocator, std::to_string(p.locator_size()) + " locator hashes");
  }
  m.locator.clear();
  m.locator.reserve(static_cast<std::size_t>(p.locator_size()));
  for (int i = 0; i < p.locator_size(); ++i) {
    consensus::Hash256 h;
    if (!ParseHash(p.locator(i), h)) {
      return Fail(MessageError::kBadHashLength,
                  "locator " + std::to_string(i) + " of " + std::to_string(p.locator(i).size()) + " bytes");
    }
    m.locator.push_back(h);
  }
  if (!ParseHash(p.stop_hash(), m.stop_hash)) {
    return Fail(MessageError::kBadHashLength, "stop hash of " + std::to_string(p.stop_hash().size()) + " bytes");
  }
  return {};
}

DecodeResult DecodeHeaders(consensus::ByteSpan payload, HeadersMsg& m) {
  pb::Headers p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, "headers");
  if (static_cast<std::size_t>(p.headers_size()) > kMaxHeaders) {
    return Fail(MessageError::kTooManyEntries, std::to_string(p.headers_size()) + " headers");
  }
  m.headers.clear();
  m.headers.reserve(static_cast<std::size_t>(p.headers_size()));
  for (int i = 0; i < p.headers_size(); ++i) {
    consensus::BlockHeader h;
    // An 88-byte input always decodes (every field is fixed-width); any other length fails.
    if (p.headers(i).size() != consensus::kHeaderSize ||
        consensus::DecodeHeader(AsSpan(p.headers(i)), h) != consensus::DecodeError::kOk) {
      return Fail(MessageError::kBadHeaderLength,
                  "header " + std::to_string(i) + " of " + std::to_string(p.headers(i).size()) + " bytes");
    }
    m.headers.push_back(h);
  }
  return {};
}

DecodeResult DecodeBlockMsg(consensus::ByteSpan payload, BlockMsg& m) {
  pb::Block p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, "block");
  if (p.block().empty()) return Fail(MessageError::kEmptyObject, "block");
  const auto e = consensus::DecodeBlock(AsSpan(p.block()), m.block);
  if (e != consensus::DecodeError::kOk) return Fail(MessageError::kBadBlockEncoding, std::string(consensus::DecodeErrorName(e)));
  return {};
}

DecodeResult DecodeTxMsg(consensus::ByteSpan payload, TxMsg& m) {
  pb::Tx p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, "tx");
  if (p.tx().empty()) return Fail(MessageError::kEmptyObject, "tx");
  const auto e = consensus::DecodeTransaction(AsSpan(p.tx()), m.tx);
  if (e != consensus::DecodeError::kOk) return Fail(MessageError::kBadTxEncoding, std::string(consensus::DecodeErrorName(e)));
  return {};
}

DecodeResult DecodeChannelFrame(consensus::ByteSpan payload, ChannelFrameMsg& m) {
  pb::Channel p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, "channel");
  if (p.body().empty()) return Fail(MessageError::kEmptyObject, "channel");
  if (p.body().size() > kMaxChannelBody) return Fail(MessageError::kChannelTooLarge, std::to_string(p.body().size()) + " bytes");
  const auto body = AsSpan(p.body());
  m.body.assign(body.begin(), body.end());
  return {};
}

DecodeResult DecodeReject(consensus::ByteSpan payload, RejectMsg& m) {
  pb::Reject p;
  if (!Parse(p, payload)) return Fail(MessageError::kBadProtobuf, "reject");
  switch (p.code()) {
    case pb::REJECT_CODE_MALFORMED: m.code = RejectCode::kMalformed; break;
    case pb::REJECT_CODE_INVALID: m.code = RejectCode::kInvalid; break;
    case pb::REJECT_CODE_OBSOLETE: m.code = RejectCode::kObsolete; break;
    case pb::REJECT_CODE_DUPLICATE: m.code = RejectCode::kDuplicate; break;
    case pb::REJECT_CODE_NONSTANDARD: m.code = RejectCode::kNonstandard; break;
    case pb::REJECT_CODE_INSUFFICIENT_FEE: m.code = RejectCode::kInsufficientFee; break;
    default: return Fail(MessageError::kBadRejectCode, "code " + std::to_string(p.code()));
  }
  if (p.reason().size() > kMaxRejectReason || !PrintableAscii(p.reason())) {
    return Fail(MessageError::kBadRejectReason, "reason of " + std::to_string(p.reason().size()) + " bytes");
  }
  m.reason = p.reason();
  m.hash.reset();
  if (!p.hash().empty()) {
    consensus::Hash256 h;
    if (!ParseHash(p.hash(), h)) {
      return Fail(MessageError::kBadHashLength, "reject hash of " + std::to_string(p.hash().size()) + " bytes");
    }
    m.hash = h;
  }
  return {};
}

// --- encoders ----------------------------------------------------------------------------

template <typename Pb>
consensus::Bytes Serialize(const Pb& p) {
  consensus::Bytes out(p.ByteSizeLong());
  if (!out.empty()) {
    const bool ok = p.SerializeToArray(out.data(), static_cast<int>(out.size()));
    assert(ok);
    (void)ok;
  }
  return out;
}

template <typename Pb>
void FillItems(Pb& p, const std::vector<InvItem>& items) {
  assert(items.size() <= kMaxInvItems);
  for (const auto& item : items) {
    auto* it = p.add_items();
    it->set_type(item.type == InvType::kTx ? pb::INV_TYPE_TX : pb::INV_TYPE_BLOCK);
    it->set_hash(HashBytes(item.hash));
  }
}

struct PayloadEncoder {
  consensus::Bytes operator()(const VersionMsg& m) const {
    pb::Version p;
    p.set_protocol_version(m.protocol_version);
    p.set_network_magic(std::string(reinterpret_cast<const char*>(m.network_magic.data()), 4));
    p.set_best_height(m.best_height);
    p.set_services(m.services);
    p.set_nonce(m.nonce);
    p.set_user_agent(m.user_agent);
    p.set_timestamp(m.timestamp);
    p.set_listen_port(m.listen_port);
    return Serialize(p);
  }
  consensus::Bytes operator()(const VerackMsg&) const { return {}; }
  consensus::Bytes operator()(const GetAddrMsg&) const { return {}; }
  consensus::Bytes operator()(const PingMsg& m) const {
    pb::Ping p;
    p.set_nonce(m.nonce);
    return Serialize(p);
  }
  consensus::Bytes operator()(const PongMsg& m) const {
    pb::Pong p;
    p.set_nonce(m.nonce);
    return Serialize(p);
  }
  consensus::Bytes operator()(const AddrMsg& m) const {
    assert(m.entries.size() <= kMaxAddrEntries);
    pb::Addr p;
    for (const auto& e : m.entries) {
      auto* pe = p.add_entries();
      const auto ip = e.service.addr.WireBytes();
      pe->set_ip(std::string(ip.begin(), ip.end()));
      pe->set_port(e.service.port);
      pe->set_services(e.services);
      pe->set_last_seen(e.last_seen);
    }
    return Serialize(p);
  }
  consensus::Bytes operator()(const InvMsg& m) const {
    pb::Inv p;
    FillItems(p, m.items);
    return Serialize(p);
  }
  consensus::Bytes operator()(const GetDataMsg& m) const {
    pb::GetData p;
    FillItems(p, m.items);
    return Serialize(p);
  }
  consensus::Bytes operator()(const NotFoundMsg& m) const {
    pb::NotFound p;
    FillItems(p, m.items);
    return Serialize(p);
  }
  consensus::Bytes operator()(const GetHeadersMsg& m) const {
    assert(!m.locator.empty() && m.locator.size() <= kMaxLocatorHashes);
    pb::GetHeaders p;
    for (const auto& h : m.locator) p.add_locator(HashBytes(h));
    p.set_stop_hash(HashBytes(m.stop_hash));
    return Serialize(p);
  }
  consensus::Bytes operator()(const HeadersMsg& m) const {
    assert(m.headers.size() <= kMaxHeaders);
    pb::Headers p;
    for (const auto& h : m.headers) {
      const auto bytes = h.Encode();
      p.add_headers(std::string(bytes.begin(), bytes.end()));
    }
    return Serialize(p);
  }
  consensus::Bytes operator()(const BlockMsg& m) const {
    pb::Block p;
    const auto bytes = consensus::EncodeBlock(m.block);
    p.set_block(std::string(bytes.begin(), bytes.end()));
    return Serialize(p);
  }
  consensus::Bytes operator()(const TxMsg& m) const {
    assert(m.tx);
    pb::Tx p;
    const auto bytes = consensus::EncodeTransaction(*m.tx);
    p.set_tx(std::string(bytes.begin(), bytes.end()));
    return Serialize(p);
  }
  consensus::Bytes operator()(const ChannelFrameMsg& m) const {
    assert(!m.body.empty() && m.body.size() <= kMaxChannelBody);
    pb::Channel p;
    p.set_body(std::string(m.body.begin(), m.body.end()));
    return Serialize(p);
  }
  consensus::Bytes operator()(const RejectMsg& m) const {
    pb::Reject p;
    p.set_code(static_cast<pb::RejectCode>(m.code));
    p.set_reason(m.reason);
    if (m.hash) p.set_hash(HashBytes(*m.hash));
    return Serialize(p);
  }
};

}  // namespace

bool operator==(const BlockMsg& a, const BlockMsg& b) {
  if (a.block.header != b.block.header || a.block.txs.size() != b.block.txs.size()) return false;
  for (std::size_t i = 0; i < a.block.txs.size(); ++i) {
    if (a.block.txs[i]->wtxid() != b.block.txs[i]->wtxid()) return false;
  }
  return true;
}

bool operator==(const TxMsg& a, const TxMsg& b) {
  if (!a.tx || !b.tx) return !a.tx && !b.tx;
  return a.tx->wtxid() == b.tx->wtxid();
}

std::string_view MessageErrorName(MessageError e) {
  switch (e) {
    case MessageError::kOk: return "ok";
    case MessageError::kBadProtobuf: return "msg-bad-protobuf";
    case MessageError::kPayloadNotEmpty: return "msg-payload-not-empty";
    case MessageError::kBadMagic: return "msg-bad-magic";
    case MessageError::kBadUserAgent: return "msg-bad-user-agent";
    case MessageError::kBadTimestamp: return "msg-bad-timestamp";
    case MessageError::kBadPort: return "msg-bad-port";
    case MessageError::kTooManyEntries: return "msg-too-many-entries";
    case MessageError::kBadAddress: return "msg-bad-address";
    case MessageError::kBadInvType: return "msg-bad-inv-type";
    case MessageError::kBadHashLength: return "msg-bad-hash-length";
    case MessageError::kBadLocator: return "msg-bad-locator";
    case MessageError::kBadHeaderLength: return "msg-bad-header-length";
    case MessageError::kBadBlockEncoding: return "msg-bad-block-encoding";
    case MessageError::kBadTxEncoding: return "msg-bad-tx-encoding";
    case MessageError::kBadRejectCode: return "msg-bad-reject-code";
    case MessageError::kBadRejectReason: return "msg-bad-reject-reason";
    case MessageError::kEmptyObject: return "msg-empty-object";
    case MessageError::kChannelTooLarge: return "msg-channel-too-large";
  }
  return "unknown-message-error";
}

DecodeResult DecodeMessage(Command command, consensus::ByteSpan payload, Message& out) {
  // Each decoder fills a local message; out changes only on success.
  auto run = [&out](auto msg, auto decode) -> DecodeResult {
    DecodeResult r = decode(msg);
    if (r.ok()) out = std::move(msg);
    return r;
  };
  switch (command) {
    case Command::kVersion: return run(VersionMsg{}, [&](VersionMsg& m) { return DecodeVersion(payload, m); });
    case Command::kVerack: return run(VerackMsg{}, [&](VerackMsg&) { return DecodeEmpty(payload, "verack"); });
    case Command::kPing: return run(PingMsg{}, [&](PingMsg& m) { return DecodeNonce<pb::Ping>(payload, m, "ping"); });
    case Command::kPong: return run(PongMsg{}, [&](PongMsg& m) { return DecodeNonce<pb::Pong>(payload, m, "pong"); });
    case Command::kGetAddr: return run(GetAddrMsg{}, [&](GetAddrMsg&) { return DecodeEmpty(payload, "getaddr"); });
    case Command::kAddr: return run(AddrMsg{}, [&](AddrMsg& m) { return DecodeAddr(payload, m); });
    case Command::kInv:
      return run(InvMsg{}, [&](InvMsg& m) { return DecodeInvItems<pb::Inv>(payload, m.items, "inv"); });
    case Command::kGetData:
      return run(GetDataMsg{}, [&](GetDataMsg& m) { return DecodeInvItems<pb::GetData>(payload, m.items, "getdata"); });
    case Command::kNotFound:
      return run(NotFoundMsg{},
                 [&](NotFoundMsg& m) { return DecodeInvItems<pb::NotFound>(payload, m.items, "notfound"); });
    case Command::kGetHeaders: return run(GetHeadersMsg{}, [&](GetHeadersMsg& m) { return DecodeGetHeaders(payload, m); });
    case Command::kHeaders: return run(HeadersMsg{}, [&](HeadersMsg& m) { return DecodeHeaders(payload, m); });
    case Command::kBlock: return run(BlockMsg{}, [&](BlockMsg& m) { return DecodeBlockMsg(payload, m); });
    case Command::kTx: return run(TxMsg{}, [&](TxMsg& m) { return DecodeTxMsg(payload, m); });
    case Command::kReject: return run(RejectMsg{}, [&](RejectMsg& m) { return DecodeReject(payload, m); });
    case Command::kChannel:
      return run(ChannelFrameMsg{}, [&](ChannelFrameMsg& m) { return DecodeChannelFrame(payload, m); });
  }
  return Fail(MessageError::kBadProtobuf, "unknown command");
}

Command CommandOf(const Message& msg) { return static_cast<Command>(msg.index()); }

consensus::Bytes EncodePayload(const Message& msg) { return std::visit(PayloadEncoder{}, msg); }

consensus::Bytes EncodeMessage(const Magic& magic, const Message& msg) {
  return EncodeFrame(magic, CommandOf(msg), EncodePayload(msg));
}

}  // namespace wattline::net
