#include "rpc/convert.h"

#include <google/protobuf/descriptor.h>

namespace wattline::rpc {

std::string ToHex(crypto::ByteSpan bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

RpcError ParseHash(std::string_view hex, std::string_view field, crypto::Hash256& out) {
  if (hex.size() != 2 * crypto::Hash256::kSize) {
    return Invalid(std::string(field) + ": a hash is 64 hex digits, got " + std::to_string(hex.size()) +
                   " characters");
  }
  auto h = crypto::Hash256::FromHex(hex);
  if (!h) return Invalid(std::string(field) + ": not hexadecimal");
  out = *h;
  return {};
}

RpcError ParseAmount(std::int64_t units, std::string_view field, consensus::Amount& out, std::int64_t min_units) {
  if (units < 0) return Invalid(std::string(field) + ": negative amount " + std::to_string(units));
  if (units < min_units) return Invalid(std::string(field) + ": amount must be at least " + std::to_string(min_units));
  if (units > consensus::kMaxMoney.units) {
    return Invalid(std::string(field) + ": amount " + std::to_string(units) + " exceeds the money supply");
  }
  out = consensus::Amount{units};
  return {};
}

namespace {
// Bytes in, a canonical object out: size bound first, then the decoder, then one message
// naming the decode error, with the reason code the ledger would give.
template <typename Decode>
RpcError ParseRaw(const std::string& bytes, const char* field, std::size_t max, consensus::Reason reason,
                  Decode&& decode) {
  if (bytes.empty()) return Invalid(std::string(field) + ": empty");
  if (bytes.size() > max) {
    return Invalid(std::string(field) + ": " + std::to_string(bytes.size()) + " bytes, more than the maximum " +
                   std::to_string(max));
  }
  const crypto::ByteSpan span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  const consensus::DecodeError err = decode(span);
  if (err != consensus::DecodeError::kOk) {
    RpcError e = FromDecodeError(err, field);
    e.reject_reason = std::string(consensus::ReasonCode(reason));
    return e;
  }
  return {};
}
}  // namespace

RpcError ParseRawBlock(const std::string& bytes, consensus::Block& out) {
  return ParseRaw(bytes, "block", consensus::kMaxBlockSize, consensus::Reason::kBlockDecode,
                  [&](crypto::ByteSpan b) { return consensus::DecodeBlock(b, out); });
}

RpcError ParseRawTransaction(const std::string& bytes, consensus::TransactionRef& out) {
  return ParseRaw(bytes, "raw_tx", consensus::kMaxTxSize, consensus::Reason::kTxDecode,
                  [&](crypto::ByteSpan b) { return consensus::DecodeTransaction(b, out); });
}

RpcError ParseAddress(std::string_view text, std::string_view field, const AddressDecoder& decode,
                      crypto::XOnlyPubKey& out) {
  if (text.empty()) return Invalid(std::string(field) + ": empty address");
  if (text.size() > kMaxAddressSize) return Invalid(std::string(field) + ": address too long");
  std::string why;
  auto key = decode(text, &why);
  if (!key) return Invalid(std::string(field) + ": bad address" + (why.empty() ? "" : ": " + why));
  out = *key;
  return {};
}

RpcError ParseBlockFormat(int value, v1::BlockFormat& out) {
  if (value == v1::BLOCK_FORMAT_UNSPECIFIED) return Invalid("format: BLOCK_FORMAT_UNSPECIFIED; choose DECODED, RAW or FULL");
  if (!v1::BlockFormat_IsValid(value)) return Invalid("format: unknown value " + std::to_string(value));
  out = static_cast<v1::BlockFormat>(value);
  return {};
}

RpcError ParseBlockId(const v1::BlockId& id, BlockSelector& out) {
  switch (id.id_case()) {
    case v1::BlockId::kHash: {
      crypto::Hash256 h;
      if (auto e = ParseHash(id.hash(), "block.hash", h); !e.ok()) return e;
      out = h;
      return {};
    }
    case v1::BlockId::kHeight:
      out = id.height();
      return {};
    case v1::BlockId::ID_NOT_SET:
      break;
  }
  return Invalid("block: set either hash or height");
}

RpcError ParseCount(std::uint64_t value, std::string_view field, std::uint64_t max, std::uint32_t& out) {
  if (value == 0 || value > max) {
    return Invalid(std::string(field) + ": must be between 1 and " + std::to_string(max) + ", got " +
                   std::to_string(value));
  }
  out = static_cast<std::uint32_t>(value);
  return {};
}

RpcError ParsePassphrase(const std::string& text, std::string_view field) {
  if (text.empty()) return Invalid(std::string(field) + ": empty passphrase");
  if (text.size() > kMaxPassphraseSize) return Invalid(std::string(field) + ": passphrase too long");
  return {};
}

namespace {
/** Exactly n bytes of hex into out. */
template <std::size_t N>
RpcError ParseFixedHex(std::string_view hex, std::string_view field, const char* what, std::array<std::uint8_t, N>& out) {
  if (hex.size() != 2 * N) {
    return Invalid(std::string(field) + ": " + what + " is " + std::to_string(2 * N) + " hex digits, got " +
                   std::to_string(hex.size()) + " characters");
  }
  auto nib = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Invalid(std::string(field) + ": not hexadecimal");
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return {};
}
}  // namespace

RpcError ParseKey(std::string_view hex, std::string_view field, crypto::XOnlyPubKey& out) {
  if (hex.empty()) return Invalid(std::string(field) + ": empty; a key is 64 hex digits");
  crypto::XOnlyPubKey key;
  if (auto e = ParseFixedHex(hex, field, "a key", key.bytes); !e.ok()) return e;
  if (!key.IsValid()) return Invalid(std::string(field) + ": not a valid public key (not on the curve)");
  out = key;
  return {};
}

RpcError ParseSignature(std::string_view hex, std::string_view field, crypto::Signature& out) {
  return ParseFixedHex(hex, field, "a signature", out.bytes);
}

RpcError ParseOwner(std::string_view text, std::string_view field, const AddressDecoder& decode,
                    crypto::XOnlyPubKey& out) {
  if (text.empty()) return Invalid(std::string(field) + ": empty; an address or a key (64 hex digits)");
  if (text.size() == 64 && text.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos)
    return ParseKey(text, field, out);
  return ParseAddress(text, field, decode, out);
}

RpcError ParseMeterRole(int value, std::string_view field, consensus::MeterRole& out) {
  switch (value) {
    case v1::METER_ROLE_PRODUCER: out = consensus::MeterRole::kProducer; return {};
    case v1::METER_ROLE_CONSUMER: out = consensus::MeterRole::kConsumer; return {};
    case v1::METER_ROLE_PROSUMER: out = consensus::MeterRole::kProsumer; return {};
    case v1::METER_ROLE_UNSPECIFIED:
      return Invalid(std::string(field) + ": METER_ROLE_UNSPECIFIED; choose PRODUCER, CONSUMER or PROSUMER");
    default: return Invalid(std::string(field) + ": unknown value " + std::to_string(value));
  }
}

RpcError ParseCid(std::string_view text, std::string_view field, consensus::Cid& out) {
  if (text.empty()) return Invalid(std::string(field) + ": empty CID");
  auto cid = consensus::CidFromString(text);
  if (!cid) return Invalid(std::string(field) + ": not a raw sha2-256 CIDv1 (\"b\" + 58 base32 characters)");
  out = *cid;
  return {};
}

RpcError ParseReading(const v1::Reading& in, std::string_view field, consensus::Reading& out) {
  const std::string f(field);
  consensus::Reading r;
  if (auto e = ParseKey(in.meter(), f + ".meter", r.meter); !e.ok()) return e;
  if (in.length() == 0) return Invalid(f + ".length: must be at least 1 second");
  r.start = in.start();
  r.length = in.length();
  r.import_wh = in.import_wh();
  r.export_wh = in.export_wh();
  r.import_register = in.import_register();
  r.export_register = in.export_register();
  if (auto e = ParseSignature(in.signature(), f + ".signature", r.sig); !e.ok()) return e;
  out = r;
  return {};
}

RpcError ParseReadingBatch(const v1::SubmitReadingsRequest& in, consensus::ReadingBatch& out) {
  const auto n = static_cast<std::size_t>(in.readings_size());
  if (n == 0 || n > consensus::kMaxReadingsPerBatch) {
    return Invalid("readings: a batch has 1 to " + std::to_string(consensus::kMaxReadingsPerBatch) + " readings, got " +
                   std::to_string(n));
  }
  consensus::ReadingBatch batch;
  batch.readings.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (auto e = ParseReading(in.readings(static_cast<int>(i)), "readings[" + std::to_string(i) + "]", batch.readings[i]);
        !e.ok())
      return e;
  }
  if (!in.series_cid().empty()) {
    consensus::Cid cid;
    if (auto e = ParseCid(in.series_cid(), "series_cid", cid); !e.ok()) return e;
    batch.series = cid;
  }
  out = std::move(batch);
  return {};
}

v1::MeterRole MeterRoleToProto(consensus::MeterRole role) {
  switch (role) {
    case consensus::MeterRole::kProducer: return v1::METER_ROLE_PRODUCER;
    case consensus::MeterRole::kConsumer: return v1::METER_ROLE_CONSUMER;
    case consensus::MeterRole::kProsumer: return v1::METER_ROLE_PROSUMER;
  }
  return v1::METER_ROLE_UNSPECIFIED;
}

void ReadingToProto(const consensus::Reading& r, v1::Reading* out) {
  out->set_meter(ToHex(r.meter.span()));
  out->set_start(r.start);
  out->set_length(r.length);
  out->set_import_wh(r.import_wh);
  out->set_export_wh(r.export_wh);
  out->set_import_register(r.import_register);
  out->set_export_register(r.export_register);
  out->set_signature(ToHex(r.sig.span()));
}

void MeterInfoToProto(const consensus::MeterId& id, const consensus::MeterState& s, const AddressEncoder& encode,
                      v1::MeterInfo* out) {
  out->set_meter(ToHex(id.span()));
  if (encode) out->set_owner(encode(s.owner));
  out->set_owner_key(ToHex(s.owner.span()));
  out->set_role(MeterRoleToProto(s.role));
  out->set_registered(s.registered);
  out->set_registered_height(s.registered_height);
  out->set_granted(static_cast<std::int64_t>(s.granted));
  out->set_readings(s.readings);
  out->set_last_end(s.has_reading ? s.last_end : 0);
  out->set_import_register(s.import_register);
  out->set_export_register(s.export_register);
  out->set_exported_wh(s.exported_wh);
  out->set_imported_wh(s.imported_wh);
  out->set_rewarded(static_cast<std::int64_t>(s.rewarded));
}

v1::Network NetworkToProto(consensus::Network network) {
  switch (network) {
    case consensus::Network::kMain: return v1::NETWORK_MAIN;
    case consensus::Network::kTestnet: return v1::NETWORK_TESTNET;
    case consensus::Network::kDevnet: return v1::NETWORK_DEVNET;
    case consensus::Network::kRegtest: return v1::NETWORK_REGTEST;
  }
  return v1::NETWORK_UNSPECIFIED;
}

std::optional<consensus::Network> NetworkFromProto(int value) {
  switch (value) {
    case v1::NETWORK_MAIN: return consensus::Network::kMain;
    case v1::NETWORK_TESTNET: return consensus::Network::kTestnet;
    case v1::NETWORK_DEVNET: return consensus::Network::kDevnet;
    case v1::NETWORK_REGTEST: return consensus::Network::kRegtest;
    default: return std::nullopt;
  }
}

void ConditionToProto(const consensus::Condition& c, v1::Condition* out) {
  switch (c.type) {
    case consensus::ConditionType::kKey: out->set_type(v1::CONDITION_TYPE_KEY); break;
    case consensus::ConditionType::kMultisig: out->set_type(v1::CONDITION_TYPE_MULTISIG); break;
    case consensus::ConditionType::kAfterHeight: out->set_type(v1::CONDITION_TYPE_AFTER_HEIGHT); break;
    case consensus::ConditionType::kAfterBlocks: out->set_type(v1::CONDITION_TYPE_AFTER_BLOCKS); break;
    case consensus::ConditionType::kOr: out->set_type(v1::CONDITION_TYPE_OR); break;
    case consensus::ConditionType::kChannel: out->set_type(v1::CONDITION_TYPE_CHANNEL); break;
    case consensus::ConditionType::kChannelClose: out->set_type(v1::CONDITION_TYPE_CHANNEL_CLOSE); break;
  }
  if (c.type == consensus::ConditionType::kChannelClose) {
    out->set_channel_txid(c.channel_txid.ToHex());
    out->set_channel_index(c.channel_index);
    out->set_state(c.state);
  }
  for (const auto& k : c.keys) out->add_keys(ToHex(k.span()));
  out->set_threshold(c.threshold);
  out->set_lock(c.lock);
  out->set_window(c.window);
  for (const auto& b : c.branches) ConditionToProto(b, out->add_branches());
}

void HeaderToProto(const consensus::BlockHeader& h, v1::BlockHeader* out) {
  out->set_hash(h.Hash().ToHex());
  out->set_version(h.version);
  out->set_prev_hash(h.prev_hash.ToHex());
  out->set_merkle_root(h.merkle_root.ToHex());
  out->set_time(h.time);
  out->set_bits(h.bits);
  out->set_nonce(h.nonce);
}

void TransactionToProto(const consensus::Transaction& tx, const AddressEncoder& encode, v1::Transaction* out) {
  out->set_txid(tx.txid().ToHex());
  out->set_wtxid(tx.wtxid().ToHex());
  out->set_version(tx.version());
  for (const auto& in : tx.inputs()) {
    auto* pin = out->add_inputs();
    pin->mutable_prevout()->set_txid(in.prevout.txid.ToHex());
    pin->mutable_prevout()->set_index(in.prevout.index);
    pin->set_satisfaction_hex(ToHex(consensus::EncodeSatisfaction(in.satisfaction)));
  }
  for (const auto& o : tx.outputs()) {
    auto* pout = out->add_outputs();
    pout->set_amount(o.amount.units);
    ConditionToProto(o.condition, pout->mutable_condition());
    if (o.condition.type == consensus::ConditionType::kKey && o.condition.keys.size() == 1 && encode) {
      pout->set_address(encode(o.condition.keys[0]));
    }
  }
  auto* rec = out->mutable_record();
  rec->set_kind(static_cast<std::uint32_t>(tx.record().kind));
  rec->set_version(tx.record().version);
  rec->set_payload_hex(ToHex(tx.record().payload));
  out->set_size(tx.size());
  out->set_coinbase(tx.IsCoinbase());
}

}  // namespace wattline::rpc
