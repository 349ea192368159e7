// Arbitrated closes (channels/arbiter.h) and the expiry close over a real regtest chainstate:
// A asks for the penalty close when B's meter delivered less than asked, B for the delivered
// close when A vanished; the utility's node builds the same close from its own chain's counted
// readings, co-signs only that, and the ledger pays exactly the shares consensus computes from
// the evidence (B's collateral into the pool). Forged signatures, a close without a shortfall,
// an early request, a node that is not U, and an index that lost readings are each refused with
// their reason. After T any one party closes at state 0.
#include <gtest/gtest.h>

#include "channels/arbiter.h"
#include "channels/builder.h"
#include "tests/unit/channels/channel_net.h"

using namespace wattline;
using namespace wattline::test;
using namespace wattline::channels;

using consensus::SettlementPath;

namespace {

class ArbitrationTest : public ChannelNet {
 protected:
  std::int64_t UtilityBalance() const {
    std::int64_t sum = 0;
    for (const auto& [op, coin] : ChainstateUtxo(*cs))
      if (coin.out.condition == consensus::Condition::Key(utility.PubKey())) sum += coin.out.amount.units;
    return sum;
  }
  /** The shares and fee of the close in the block that holds txid (its outputs by owner). */
  std::map<std::string, std::int64_t> PaidBy(const consensus::TransactionRef& tx) {
    std::map<std::string, std::int64_t> out;
    for (const auto& o : tx->outputs()) {
      if (o.condition == consensus::Condition::Key(a->pub())) out["a"] += o.amount.units;
      else if (o.condition == consensus::Condition::Key(b->pub())) out["b"] += o.amount.units;
      else if (o.condition == consensus::Condition::Key(utility.PubKey())) out["u"] += o.amount.units;
      else out["other"] += o.amount.units;
    }
    return out;
  }
  consensus::TransactionRef Pending(const Hash256& txid) {
    for (const auto& tx : pending)
      if (tx->txid() == txid) return tx;
    return nullptr;
  }
};

TEST_F(ArbitrationTest, PenaltyCloseIsCoSignedByTheUtilityFromItsOwnChainAndPoolsBsCollateral) {
  const Hash256 id = OpenFunded();
  const auto f = Funding();
  CountImport(1'000, 500, 600);
  CountImport(1'500, 500, 400);
  CountExport(1'000, 1'000, 300);
  Deliver();  // A pays as metered meanwhile: the penalty ignores Cc and follows the evidence
  const auto ch = a->OnChain(a->engine().Get(id)->channel);
  ASSERT_TRUE(ch);
  ASSERT_EQ(ch->count_a, 2u);
  ASSERT_EQ(ch->count_b, 1u);
  const auto pool_before = Reader().Globals().pool_in_total;
  const auto u_before = UtilityBalance();

  Hash256 txid;
  const auto r = a->engine().RequestArbitration(id, 0, txid);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(a->engine().ArbitrationOf(id)->status, ChannelEngine::Arbitration::Status::kWaiting);
  Deliver();
  const auto arb = a->engine().ArbitrationOf(id);
  ASSERT_TRUE(arb);
  EXPECT_EQ(arb->status, ChannelEngine::Arbitration::Status::kBroadcast) << arb->text;
  const auto tx = Pending(txid);
  ASSERT_TRUE(tx) << "the utility broadcast the close";

  // The split is the one consensus computes from the evidence, whatever Cc the state reached.
  const auto split = consensus::PenaltyShares(f.cwa, f.cwb, f.cwu, f.energy_wh, f.price, 1'000, 300);
  ASSERT_TRUE(split);
  EXPECT_EQ(split->pool, f.cwb);
  const std::uint64_t fee = std::max<std::uint64_t>(2'000, FeeFloor(Reader().Globals(), cs->Height() + 1, params, ch->amount));
  const auto payout = consensus::ApplyFee(split->shares, fee, {consensus::Party::kA, consensus::Party::kU},
                                          static_cast<std::uint64_t>(params.channel_dust.units));
  ASSERT_TRUE(payout);
  auto paid = PaidBy(tx);
  EXPECT_EQ(paid["a"], static_cast<std::int64_t>(payout->shares[0]));
  EXPECT_EQ(paid["b"], static_cast<std::int64_t>(payout->shares[1]));
  EXPECT_EQ(paid["u"], static_cast<std::int64_t>(payout->shares[2]));
  EXPECT_EQ(paid.count("other"), 0u);
  std::int64_t out_sum = 0;
  for (const auto& o : tx->outputs()) out_sum += o.amount.units;
  EXPECT_EQ(static_cast<std::uint64_t>(out_sum) + split->pool + payout->fee, ch->amount) << "every unit accounted for";

  MineBlock();
  EXPECT_FALSE(a->OnChain(ch->current)) << "settled";
  EXPECT_EQ(Reader().Globals().pool_in_total, pool_before + f.cwb);
  EXPECT_EQ(UtilityBalance(), u_before + paid["u"]);
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kClosed);
  EXPECT_EQ(b->engine().Get(id)->phase, Phase::kClosed);
}

TEST_F(ArbitrationTest, DeliveredCloseLetsBBePaidWhenAVanished) {
  const Hash256 id = OpenFunded();
  const auto f = Funding();
  a->offline = true;  // A vanished after the energy was metered
  CountExport(1'000, 1'000, 800);
  Hash256 txid;
  const auto r = b->engine().RequestArbitration(id, 0, txid);
  ASSERT_TRUE(r.ok()) << r.message;
  Deliver();
  ASSERT_EQ(b->engine().ArbitrationOf(id)->status, ChannelEngine::Arbitration::Status::kBroadcast)
      << b->engine().ArbitrationOf(id)->text;
  const auto tx = Pending(txid);
  ASSERT_TRUE(tx);
  const auto shares = consensus::DeliveredShares(f.cwa, f.cwb, f.cwu, f.energy_wh, f.price, 800);
  ASSERT_TRUE(shares);
  const auto amount = b->OnChain(b->engine().Get(id)->channel)->amount;
  const std::uint64_t fee = std::max<std::uint64_t>(2'000, FeeFloor(Reader().Globals(), cs->Height() + 1, params, amount));
  const auto payout = consensus::ApplyFee(*shares, fee, {consensus::Party::kB, consensus::Party::kU}, static_cast<std::uint64_t>(params.channel_dust.units));
  ASSERT_TRUE(payout);
  auto paid = PaidBy(tx);
  EXPECT_EQ(paid["a"], static_cast<std::int64_t>(payout->shares[0]));  // B pays the fee
  EXPECT_EQ(paid["b"], static_cast<std::int64_t>(payout->shares[1]));
  EXPECT_EQ(payout->shares[1], (*shares)[1] - fee);
  EXPECT_EQ((*shares)[1], f.cwb + *consensus::EnergyCost(800, f.price));
  MineBlock();
  EXPECT_EQ(b->engine().Get(id)->phase, Phase::kClosed);
}

TEST_F(ArbitrationTest, RefusalsNameTheirReason) {
  const Hash256 id = OpenFunded();
  const ChannelId channel = a->engine().Get(id)->channel;
  CountImport(1'000, 1'000, 1'000);
  CountExport(1'000, 1'000, 1'000);
  Deliver();
  Hash256 txid;

  // B delivered all that was asked: A's own node will not build a penalty.
  auto r = a->engine().RequestArbitration(id, 0, txid);
  EXPECT_EQ(r.code, EngineResult::Code::kFailedPrecondition);
  EXPECT_NE(r.message.find("no shortfall"), std::string::npos) << r.message;

  // A signature for another close (or by the wrong party) is not co-signed: U builds its own.
  const auto ch = *u->OnChain(channel);
  std::string why;
  const std::uint64_t fee = FeeFloor(Reader().Globals(), cs->Height() + 1, params, ch.amount);
  auto tx = BuildArbitratedClose(*u, channel, ch, SettlementPath::kDelivered, fee, why);
  ASSERT_TRUE(tx) << why;
  const auto sighash = CloseSighash(params, *tx, channel, ch);
  auto reply = u->arbiter().Handle(ArbitrateMsg{channel, SettlementPath::kDelivered, fee + 1, *b->Sign(sighash)});
  ASSERT_TRUE(std::holds_alternative<ErrorMsg>(reply));
  EXPECT_EQ(std::get<ErrorMsg>(reply).code, ErrorCode::kBadSignature);
  EXPECT_NE(std::get<ErrorMsg>(reply).text.find("same tip"), std::string::npos);
  reply = u->arbiter().Handle(ArbitrateMsg{channel, SettlementPath::kDelivered, fee, *a->Sign(sighash)});
  EXPECT_EQ(std::get<ErrorMsg>(reply).code, ErrorCode::kBadSignature) << "A cannot sign B's path";
  // Only the channel's utility arbitrates, and only channels on chain.
  reply = b->arbiter().Handle(ArbitrateMsg{channel, SettlementPath::kDelivered, fee, *b->Sign(sighash)});
  EXPECT_NE(std::get<ErrorMsg>(reply).text.find("utility key"), std::string::npos);
  reply = u->arbiter().Handle(ArbitrateMsg{{channel.txid, 7}, SettlementPath::kDelivered, fee, *b->Sign(sighash)});
  EXPECT_EQ(std::get<ErrorMsg>(reply).code, ErrorCode::kUnknownChannel);
  // The valid one goes through.
  reply = u->arbiter().Handle(ArbitrateMsg{channel, SettlementPath::kDelivered, fee, *b->Sign(sighash)});
  EXPECT_TRUE(std::holds_alternative<ArbitrateAckMsg>(reply))
      << (std::holds_alternative<ErrorMsg>(reply) ? std::get<ErrorMsg>(reply).text : "");

  // An index that lost a counted reading cannot prove anything.
  EXPECT_FALSE(CollectEvidence(ch, {}, u->CountedReadings(meter_b.PubKey(), 0, 100), why));
  EXPECT_NE(why.find("1 readings of A's meter"), std::string::npos) << why;
  consensus::ChannelState none = ch;
  none.count_a = none.count_b = 0;
  EXPECT_FALSE(CollectEvidence(none, {}, {}, why));
  EXPECT_NE(why.find("no reading"), std::string::npos) << why;
}

TEST_F(ArbitrationTest, AnEarlyRequestOrOneWithoutAUtilityIsRefused) {
  const Hash256 id = OpenFunded();
  const ChannelId channel = a->engine().Get(id)->channel;
  auto ch = *a->OnChain(channel);
  ch.funding.delivery_end = a->TipTime() + 3'600;  // as if the interval were still running
  std::string why;
  EXPECT_FALSE(BuildArbitratedClose(*a, channel, ch, SettlementPath::kPenalty, 3'000, why));
  EXPECT_NE(why.find("delivery interval ends at"), std::string::npos) << why;

  channels::EngineOptions no_tower;
  ChannelEngine alone(*a, a->store(), no_tower);
  Hash256 txid;
  auto r = alone.RequestArbitration(id, 0, txid);
  EXPECT_NE(r.message.find("--channeltower"), std::string::npos) << r.message;
}

TEST_F(ArbitrationTest, AfterExpiryAnyOnePartyClosesAtStateZero) {
  const Hash256 id = OpenFunded();
  const auto f = Funding();
  const ChannelId channel = a->engine().Get(id)->channel;
  ASSERT_TRUE(a->engine().Pay(id, 10'000).ok());
  Deliver();
  Hash256 txid;
  auto r = a->engine().ExpiryClose(channel, 0, txid);
  EXPECT_EQ(r.code, EngineResult::Code::kFailedPrecondition);
  EXPECT_NE(r.message.find("expires at height"), std::string::npos) << r.message;
  while (cs->Height() + 1 < f.expiry - 1) MineBlock();  // Funding() was computed one block later
  // U may sign an expiry alone too, but it has no deposit to pay the fee from.
  r = u->engine().ExpiryClose(channel, 0, txid);
  EXPECT_EQ(r.code, EngineResult::Code::kFailedPrecondition);
  EXPECT_NE(r.message.find("cannot pay the fee"), std::string::npos) << r.message;
  const std::uint64_t fee = std::max<std::uint64_t>(2'000, FeeFloor(Reader().Globals(), cs->Height() + 1, params, f.cwa + f.cwb));
  r = b->engine().ExpiryClose(channel, 0, txid);
  ASSERT_TRUE(r.ok()) << r.message;
  const auto tx = Pending(txid);
  ASSERT_TRUE(tx);
  // State 0, whatever was paid off chain: A's deposit back in full, B's minus the fee B signed for.
  const auto paid = PaidBy(tx);
  EXPECT_EQ(paid.at("a"), static_cast<std::int64_t>(f.cwa));
  EXPECT_EQ(paid.at("b"), static_cast<std::int64_t>(f.cwb - fee));
  MineBlock();
  EXPECT_FALSE(a->OnChain(channel));
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kClosed);
}

}  // namespace
