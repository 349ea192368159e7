// Converters at the edge reject bad input with INVALID_ARGUMENT and a message naming the
// field; the status mapping gives each error class its code.
#include <gtest/gtest.h>

#include "consensus/params.h"
#include "rpc/convert.h"
#include "rpc/status.h"

namespace wattline::rpc {
namespace {

using grpc::StatusCode;

TEST(Convert, Hash) {
  crypto::Hash256 h;
  EXPECT_TRUE(ParseHash(std::string(64, 'a'), "txid", h).ok());
  EXPECT_EQ(h.ToHex(), std::string(64, 'a'));
  EXPECT_TRUE(ParseHash(std::string(64, 'F'), "txid", h).ok());
  for (const std::string bad : {std::string(), std::string(63, 'a'), std::string(65, 'a'), std::string(62, 'a') + "zz"}) {
    const RpcError e = ParseHash(bad, "txid", h);
    EXPECT_EQ(e.code, StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(e.message.find("txid"), std::string::npos) << e.message;
  }
}

TEST(Convert, Amount) {
  consensus::Amount a;
  EXPECT_TRUE(ParseAmount(0, "fee_rate", a).ok());
  EXPECT_TRUE(ParseAmount(consensus::kMaxMoney.units, "amount", a).ok());
  EXPECT_EQ(a, consensus::kMaxMoney);
  const RpcError neg = ParseAmount(-1, "amount", a);
  EXPECT_EQ(neg.code, StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(neg.message.find("negative"), std::string::npos);
  EXPECT_EQ(ParseAmount(INT64_MIN, "amount", a).code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ParseAmount(consensus::kMaxMoney.units + 1, "amount", a).code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ParseAmount(0, "amount", a, 1).code, StatusCode::INVALID_ARGUMENT);
}

TEST(Convert, RawTransaction) {
  consensus::TransactionRef tx;
  EXPECT_EQ(ParseRawTransaction("", tx).code, StatusCode::INVALID_ARGUMENT);
  const RpcError junk = ParseRawTransaction(std::string("\x01\x02\x03", 3), tx);
  EXPECT_EQ(junk.code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(junk.reject_reason, "bad-txns-encoding") << junk.message;
  EXPECT_EQ(ParseRawTransaction(std::string(consensus::kMaxTxSize + 1, '\0'), tx).code, StatusCode::INVALID_ARGUMENT);
  // A real transaction round-trips: the genesis coinbase.
  const auto& genesis = consensus::GetParams(consensus::Network::kRegtest).genesis;
  const consensus::Bytes raw = consensus::EncodeTransaction(*genesis.txs.at(0));
  ASSERT_TRUE(ParseRawTransaction(std::string(raw.begin(), raw.end()), tx).ok());
  EXPECT_EQ(tx->txid(), genesis.txs[0]->txid());
  // Trailing bytes are not canonical.
  EXPECT_EQ(ParseRawTransaction(std::string(raw.begin(), raw.end()) + '\0', tx).code, StatusCode::INVALID_ARGUMENT);
}

TEST(Convert, Address) {
  const AddressDecoder dec = [](std::string_view t, std::string* why) -> std::optional<crypto::XOnlyPubKey> {
    if (t == "good") return crypto::XOnlyPubKey{};
    if (why) *why = "bad checksum";
    return std::nullopt;
  };
  crypto::XOnlyPubKey k;
  EXPECT_TRUE(ParseAddress("good", "address", dec, k).ok());
  const RpcError bad = ParseAddress("bad", "address", dec, k);
  EXPECT_EQ(bad.code, StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.message.find("bad checksum"), std::string::npos);
  EXPECT_EQ(ParseAddress("", "address", dec, k).code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ParseAddress(std::string(200, 'q'), "address", dec, k).code, StatusCode::INVALID_ARGUMENT);
}

TEST(Convert, EnumsAndSelectors) {
  v1::BlockFormat f{};
  EXPECT_EQ(ParseBlockFormat(v1::BLOCK_FORMAT_UNSPECIFIED, f).code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ParseBlockFormat(99, f).code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ParseBlockFormat(-1, f).code, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(ParseBlockFormat(v1::BLOCK_FORMAT_RAW, f).ok());
  EXPECT_EQ(f, v1::BLOCK_FORMAT_RAW);

  BlockSelector sel;
  v1::BlockId id;
  EXPECT_EQ(ParseBlockId(id, sel).code, StatusCode::INVALID_ARGUMENT);
  id.set_height(7);
  ASSERT_TRUE(ParseBlockId(id, sel).ok());
  EXPECT_EQ(std::get<std::uint32_t>(sel), 7u);
  id.set_hash("xyz");
  EXPECT_EQ(ParseBlockId(id, sel).code, StatusCode::INVALID_ARGUMENT);

  std::uint32_t n = 0;
  EXPECT_EQ(ParseCount(0, "count", 10, n).code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ParseCount(11, "count", 10, n).code, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(ParseCount(10, "count", 10, n).ok());
  EXPECT_EQ(ParsePassphrase("", "passphrase").code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ParsePassphrase(std::string(2000, 'x'), "passphrase").code, StatusCode::INVALID_ARGUMENT);

  for (auto net : {consensus::Network::kMain, consensus::Network::kTestnet, consensus::Network::kDevnet,
                   consensus::Network::kRegtest}) {
    EXPECT_EQ(NetworkFromProto(NetworkToProto(net)), net);
  }
  EXPECT_FALSE(NetworkFromProto(v1::NETWORK_UNSPECIFIED).has_value());
}

TEST(Convert, TransactionAndHeaderToProto) {
  const auto& genesis = consensus::GetParams(consensus::Network::kRegtest).genesis;
  v1::Transaction ptx;
  TransactionToProto(*genesis.txs.at(0), [](const crypto::XOnlyPubKey&) { return std::string("addr"); }, &ptx);
  EXPECT_EQ(ptx.txid(), genesis.txs[0]->txid().ToHex());
  EXPECT_TRUE(ptx.coinbase());
  EXPECT_EQ(ptx.record().kind(), 1u);
  v1::BlockHeader ph;
  HeaderToProto(genesis.header, &ph);
  EXPECT_EQ(ph.hash(), genesis.Hash().ToHex());
  EXPECT_EQ(ph.bits(), genesis.header.bits);
}

TEST(Status, ConsensusCategories) {
  consensus::ValidationState s;
  s.Invalid(consensus::Reason::kTxBadSignature, "input 0");
  RpcError e = FromValidation(s);
  EXPECT_EQ(e.code, StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(e.reject_reason, consensus::ReasonCode(consensus::Reason::kTxBadSignature));
  EXPECT_NE(e.message.find(e.reject_reason), std::string::npos);
  EXPECT_NE(e.message.find("reason 38"), std::string::npos) << e.message;

  consensus::ValidationState m;
  m.Invalid(consensus::Reason::kTxMissingInputs);
  EXPECT_EQ(FromValidation(m).code, StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(FromValidation(consensus::ValidationState{}).ok());

  EXPECT_EQ(CodeForCategory(consensus::Category::kPremature), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(CodeForCategory(consensus::Category::kMissingPrev), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(CodeForCategory(consensus::Category::kMalformed), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CodeForCategory(consensus::Category::kKnownInvalid), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FromDecodeError(consensus::DecodeError::kTrailingBytes, "raw_tx").code, StatusCode::INVALID_ARGUMENT);
}

TEST(Status, MempoolPolicy) {
  node::MempoolReject r;
  r.policy = "txn-mempool-conflict";
  RpcError e = FromMempoolReject(r);
  EXPECT_EQ(e.code, StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(e.reject_reason, "txn-mempool-conflict");
  r.policy = "mempool-min-fee-not-met";
  EXPECT_EQ(FromMempoolReject(r).code, StatusCode::FAILED_PRECONDITION);
  r.policy = "txn-already-in-mempool";
  EXPECT_EQ(FromMempoolReject(r).code, StatusCode::ALREADY_EXISTS);
}

TEST(Status, WalletErrors) {
  using E = node::Wallet::Error;
  EXPECT_EQ(CodeForWalletError(E::kNone), StatusCode::OK);
  EXPECT_EQ(CodeForWalletError(E::kLocked), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(CodeForWalletError(E::kInsufficientFunds), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(CodeForWalletError(E::kWrongPassphrase), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CodeForWalletError(E::kBadAddress), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CodeForWalletError(E::kBadAmount), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CodeForWalletError(E::kNotFound), StatusCode::NOT_FOUND);
  EXPECT_EQ(CodeForWalletError(E::kCorrupt), StatusCode::DATA_LOSS);
  EXPECT_EQ(CodeForWalletError(E::kIo), StatusCode::INTERNAL);
  EXPECT_EQ(CodeForWalletError(E::kExists), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(CodeForWalletError(E::kRejected), StatusCode::FAILED_PRECONDITION);
  const RpcError locked = FromWallet({E::kLocked, ""});
  EXPECT_NE(locked.message.find("locked"), std::string::npos);
}

}  // namespace
}  // namespace wattline::rpc
