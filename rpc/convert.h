// Protobuf <-> canonical types, at the edge only (STYLE.md section 10). Every Parse* checks
// its input and returns an INVALID_ARGUMENT RpcError naming the field; the *ToProto functions
// cannot fail. Handlers never read a proto field without going through here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "consensus/amount.h"
#include "consensus/block.h"
#include "consensus/market.h"
#include "consensus/market_state.h"
#include "consensus/params.h"
#include "consensus/transaction.h"
#include "crypto/hash.h"
#include "crypto/schnorr.h"
#include "rpc/status.h"
#include "wattline/v1/wattline.pb.h"

namespace wattline::rpc {

namespace v1 = ::wattline::v1;

/** Address text -> key for the node's network (node::DecodeAddress in the daemon). */
using AddressDecoder = std::function<std::optional<crypto::XOnlyPubKey>(std::string_view, std::string*)>;
/** Key -> address text (node::EncodeAddress in the daemon). */
using AddressEncoder = std::function<std::string(const crypto::XOnlyPubKey&)>;

inline constexpr std::size_t kMaxAddressSize = 128;
inline constexpr std::size_t kMaxPassphraseSize = 1024;

std::string ToHex(crypto::ByteSpan bytes);

RpcError ParseHash(std::string_view hex, std::string_view field, crypto::Hash256& out);
/** units in [min_units, kMaxMoney]; min_units is 0 or 1. */
RpcError ParseAmount(std::int64_t units, std::string_view field, consensus::Amount& out, std::int64_t min_units = 0);
RpcError ParseRawTransaction(const std::string& bytes, consensus::TransactionRef& out);
/** A block's canonical encoding (at most kMaxBlockSize bytes); INVALID_ARGUMENT naming the decode error. */
RpcError ParseRawBlock(const std::string& bytes, consensus::Block& out);
RpcError ParseAddress(std::string_view text, std::string_view field, const AddressDecoder& decode,
                      crypto::XOnlyPubKey& out);
RpcError ParseBlockFormat(int value, v1::BlockFormat& out);
/** A block selector: a hash, or a height on the active chain. */
using BlockSelector = std::variant<crypto::Hash256, std::uint32_t>;
RpcError ParseBlockId(const v1::BlockId& id, BlockSelector& out);
/** count in [1, max]. */
RpcError ParseCount(std::uint64_t value, std::string_view field, std::uint64_t max, std::uint32_t& out);
RpcError ParsePassphrase(const std::string& text, std::string_view field);

/** A public key: exactly 64 hex digits and a point of the curve. */
RpcError ParseKey(std::string_view hex, std::string_view field, crypto::XOnlyPubKey& out);
/** A BIP340 signature: exactly 128 hex digits. */
RpcError ParseSignature(std::string_view hex, std::string_view field, crypto::Signature& out);
/** An owner: 64 hex digits (a key) or an address of the node's network. */
RpcError ParseOwner(std::string_view text, std::string_view field, const AddressDecoder& decode,
                    crypto::XOnlyPubKey& out);
RpcError ParseMeterRole(int value, std::string_view field, consensus::MeterRole& out);
/** A raw sha2-256 CIDv1 in its text form ("b" + base32, 59 characters). */
RpcError ParseCid(std::string_view text, std::string_view field, consensus::Cid& out);
/** A reading; field prefixes the messages, e.g. "readings[2]". */
RpcError ParseReading(const v1::Reading& in, std::string_view field, consensus::Reading& out);
/** 1 .. kMaxReadingsPerBatch readings and the optional series CID. */
RpcError ParseReadingBatch(const v1::SubmitReadingsRequest& in, consensus::ReadingBatch& out);

v1::MeterRole MeterRoleToProto(consensus::MeterRole role);
void ReadingToProto(const consensus::Reading& r, v1::Reading* out);
void MeterInfoToProto(const consensus::MeterId& id, const consensus::MeterState& s, const AddressEncoder& encode,
                      v1::MeterInfo* out);

v1::Network NetworkToProto(consensus::Network network);
std::optional<consensus::Network> NetworkFromProto(int value);
void ConditionToProto(const consensus::Condition& condition, v1::Condition* out);
/** Header fields; the caller sets height, active, confirmations, tx_count. */
void HeaderToProto(const consensus::BlockHeader& header, v1::BlockHeader* out);
void TransactionToProto(const consensus::Transaction& tx, const AddressEncoder& encode, v1::Transaction* out);

}  // namespace wattline::rpc
