// The channel engine end to end over a real regtest chainstate (channel_net.h): open with
// state 0 co-signed before the funding is broadcast, 200 updates, cooperative close; every
// update with a restart of either side at every step and lost messages; a stale backup's post
// superseded by B; refusals of bad proposals and forged or out-of-order states. After every
// close the coins are conserved: what A and B hold afterwards plus the fees equals what they
// held before.
#include <gtest/gtest.h>

#include <random>

#include "channels/builder.h"
#include "tests/unit/channels/channel_net.h"

using namespace wattline;
using namespace wattline::test;
using namespace wattline::channels;
using consensus::ChannelStatus;

namespace {

class EngineTest : public ChannelNet {
 protected:
  ChannelId Channel(const Hash256& id) { return a->engine().Get(id)->channel; }
};

TEST_F(EngineTest, StateZeroIsCoSignedBeforeTheFundingExists) {
  OpenRequest req;
  req.peer = "b";
  req.funding = Funding();
  Hash256 id;
  ASSERT_TRUE(a->engine().Open(req, id).ok());
  Deliver(3);  // open, accept, funding_created: B has state 0 co-signed, nothing is broadcast yet
  EXPECT_TRUE(pending.empty());
  auto rb = b->engine().Get(id);
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->phase, Phase::kFunding);
  const consensus::Commitment zero{rb->channel, 0, 0, rb->commit_fee};
  const auto msg = consensus::CommitmentSigHash(params, zero);
  EXPECT_TRUE(crypto::Verify(a->pub(), msg, rb->sig_a));
  EXPECT_TRUE(crypto::Verify(b->pub(), msg, rb->sig_b));
  // Restarted, B still holds it (it was synced before B's signatures left).
  b->Restart();
  EXPECT_EQ(b->engine().Get(id)->sig_b, rb->sig_b);
  Deliver();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]->txid(), rb->channel.txid);
}

TEST_F(EngineTest, OpenUpdatesAndCooperativeCloseConserveCoins) {
  const std::int64_t before_a = a->Balance(), before_b = b->Balance();
  const Hash256 id = OpenFunded();
  const std::int64_t funding_fee = before_a + before_b - a->Balance() - b->Balance() - 800'000;
  EXPECT_EQ(funding_fee, 2'000);
  std::uint64_t cc = 0;
  for (int n = 1; n <= 200; ++n) {
    cc += 1'000;
    ASSERT_TRUE(a->engine().Pay(id, cc).ok()) << n;
    Deliver();
  }
  EXPECT_EQ(a->engine().Get(id)->state, 200u);
  EXPECT_EQ(b->engine().Get(id)->state, 200u);
  EXPECT_FALSE(a->engine().Get(id)->pending);
  ASSERT_TRUE(b->engine().Close(id, 0).ok());
  Deliver();
  ASSERT_EQ(pending.size(), 1u);
  MineBlock();
  EXPECT_FALSE(Reader().Channel(Channel(id)));
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kClosed);
  EXPECT_EQ(b->engine().Get(id)->phase, Phase::kClosed);
  // The close pays the fee floor (1% of 800,000 while the pool pays nothing) from A's share.
  EXPECT_EQ(a->Balance(), before_a - funding_fee - 200'000 - 8'000);
  EXPECT_EQ(b->Balance(), before_b + 200'000);
}

TEST_F(EngineTest, RestartsAndLostMessagesAtEveryStepOfAnUpdateNeverLoseAState) {
  const Hash256 id = OpenFunded();
  std::mt19937_64 rng(0x5eed);
  std::uint64_t cc = 0;
  for (int round = 0; round < 60; ++round) {
    cc += 500;
    ASSERT_TRUE(a->engine().Pay(id, cc).ok()) << round;
    // Deliver a random prefix of the exchange (0: the update is lost; 1: the ack is lost),
    // then kill one side or both, then reconnect.
    Deliver(rng() % 3);
    Drop();
    const int who = static_cast<int>(rng() % 3);
    if (who != 1) a->Restart();
    if (who != 0) b->Restart();
    a->engine().OnPeerConnected("b");
    b->engine().OnPeerConnected("a");
    Deliver();
    const auto ra = a->engine().Get(id), rb = b->engine().Get(id);
    ASSERT_EQ(ra->state, static_cast<std::uint64_t>(round + 1)) << round;
    ASSERT_EQ(rb->state, ra->state);
    ASSERT_EQ(rb->cc, cc);
    ASSERT_FALSE(ra->pending);
  }
  const std::int64_t before_b = b->Balance();
  Hash256 post;
  ASSERT_TRUE(a->engine().ForceClose(id, post).ok());
  MineBlock();
  EXPECT_EQ(Reader().Channel(Channel(id))->posted_state, 60u);
  MineBlocks(4);  // the window (3), then the settle
  EXPECT_FALSE(Reader().Channel(Channel(id)));
  EXPECT_EQ(b->Balance(), before_b + 300'000 + static_cast<std::int64_t>(cc));
}

TEST_F(EngineTest, AStaleBackupsPostIsSupersededByBAfterBothRestartMidWindow) {
  const Hash256 id = OpenFunded();
  for (std::uint64_t n = 1; n <= 2; ++n) {
    ASSERT_TRUE(a->engine().Pay(id, n * 10'000).ok());
    Deliver();
  }
  // A's node is backed up at state 2 ...
  BackUp("a");
  for (std::uint64_t n = 3; n <= 5; ++n) {
    ASSERT_TRUE(a->engine().Pay(id, n * 10'000).ok());
    Deliver();
  }
  // ... and restored from it: it knows only state 2, and posts it.
  RestoreFromBackUp("a");
  EXPECT_EQ(a->engine().Get(id)->state, 2u);
  Hash256 post;
  ASSERT_TRUE(a->engine().ForceClose(id, post).ok());
  const std::int64_t before_b = b->Balance();
  // The stale post confirms while B is down; then both restart mid-window.
  b->offline = true;
  MineBlock();
  EXPECT_EQ(Reader().Channel(Channel(id))->posted_state, 2u);
  a->Restart();
  b->Restart();
  b->offline = false;
  MineBlock();  // B's first block after the restart: it sees state 2 posted and posts state 5
  MineBlock();
  EXPECT_EQ(Reader().Channel(Channel(id))->posted_state, 5u);
  MineBlocks(4);
  EXPECT_FALSE(Reader().Channel(Channel(id)));
  // B is paid state 5: its collateral and Cc 50,000 (the posts' fees come from A's share).
  EXPECT_EQ(b->Balance(), before_b + 300'000 + 50'000);
}

TEST_F(EngineTest, ASideRestoredFromAnOldBackupLearnsTheNewestStateOnReconnectAndNeverPostsItsOwn) {
  const Hash256 id = OpenFunded();
  ASSERT_TRUE(a->engine().Pay(id, 10'000).ok());
  Deliver();
  // Both sides are backed up at state 1, then pay on to state 4.
  BackUp("a");
  BackUp("b");
  for (std::uint64_t n = 2; n <= 4; ++n) {
    ASSERT_TRUE(a->engine().Pay(id, n * 10'000).ok());
    Deliver();
  }
  const auto restore = [&](const std::string& side) {
    RestoreFromBackUp(side);
    EXPECT_EQ((side == "a" ? a : b)->engine().Get(id)->state, 1u) << side;
  };
  // A comes back at state 1; on reconnect B's reestablish answer carries state 4 co-signed.
  restore("a");
  a->engine().OnPeerConnected("b");
  b->engine().OnPeerConnected("a");
  Deliver();
  EXPECT_EQ(a->engine().Get(id)->state, 4u);
  EXPECT_EQ(a->engine().Get(id)->cc, 40'000u);
  EXPECT_FALSE(a->engine().Get(id)->pending);
  // ... durably: it survives A's restart, and A pays on from it.
  a->Restart();
  EXPECT_EQ(a->engine().Get(id)->state, 4u);
  ASSERT_TRUE(a->engine().Pay(id, 50'000).ok());
  Deliver();
  // B restored from its state-1 backup learns state 5 from A the same way.
  restore("b");
  b->engine().OnPeerConnected("a");
  a->engine().OnPeerConnected("b");
  Deliver();
  EXPECT_EQ(b->engine().Get(id)->state, 5u);
  // A state message that is forged, or not newer, changes nothing.
  const auto held = *b->engine().Get(id);
  StateMsg forged{{Channel(id), 9, 60'000, held.commit_fee}, held.sig_a, held.sig_b};
  b->engine().OnMessage("a", forged);
  StateMsg older{{Channel(id), 3, 30'000, held.commit_fee}, held.sig_a, held.sig_b};
  b->engine().OnMessage("a", older);
  EXPECT_EQ(b->engine().Get(id)->state, 5u);
  // A force close posts state 5, the newest; it settles per state 5.
  const std::int64_t before_b = b->Balance();
  Hash256 post;
  ASSERT_TRUE(a->engine().ForceClose(id, post).ok());
  MineBlock();
  EXPECT_EQ(Reader().Channel(Channel(id))->posted_state, 5u);
  MineBlocks(4);
  EXPECT_FALSE(Reader().Channel(Channel(id)));
  EXPECT_EQ(b->Balance(), before_b + 300'000 + 50'000);
}

TEST_F(EngineTest, BadProposalsAndForgedStatesAreRefusedWithAReason) {
  OpenRequest req;
  req.peer = "b";
  req.funding = Funding();
  Hash256 id;
  req.funding.consumer = b->pub();
  EXPECT_EQ(a->engine().Open(req, id).code, EngineResult::Code::kInvalidArgument);
  req.funding = Funding();
  req.funding.producer = TestKey(3).PubKey();
  ASSERT_TRUE(a->engine().Open(req, id).ok());
  Deliver(1);  // B refuses: not its key
  ASSERT_EQ(queue.size(), 1u);
  channels::ChannelMessage reply;
  ASSERT_EQ(DecodeChannelMessage(queue.front().bytes, reply), consensus::DecodeError::kOk);
  ASSERT_TRUE(std::holds_alternative<ErrorMsg>(reply));
  EXPECT_EQ(std::get<ErrorMsg>(reply).code, ErrorCode::kRefused);
  EXPECT_NE(std::get<ErrorMsg>(reply).text.find("producer key"), std::string::npos);
  EXPECT_GT(a->Reserved(), 0u);
  Deliver();
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kFailed);
  EXPECT_EQ(a->Reserved(), 0u);  // the refused proposal gave its coins back
  EXPECT_FALSE(b->engine().Get(id));

  const Hash256 live = OpenFunded();
  const ChannelId ch = Channel(live);
  const auto forge = [&](std::uint64_t n, std::uint64_t cc, const crypto::SecretKey& key) {
    const consensus::Commitment c{ch, n, cc, 2'000};
    b->engine().OnMessage("a", UpdateMsg{ch, n, cc, key.Sign(consensus::CommitmentSigHash(params, c))});
  };
  forge(1, 5'000, TestKey(12));  // signed by B's key, not A's
  forge(2, 5'000, TestKey(11));  // skips state 1
  forge(1, 600'000, TestKey(11));  // above CwA
  EXPECT_EQ(b->engine().Get(live)->state, 0u);
  std::vector<ErrorCode> codes;
  for (const auto& m : queue) {
    channels::ChannelMessage x;
    ASSERT_EQ(DecodeChannelMessage(m.bytes, x), consensus::DecodeError::kOk);
    if (auto* e = std::get_if<ErrorMsg>(&x)) codes.push_back(e->code);
  }
  EXPECT_EQ(codes, (std::vector{ErrorCode::kBadSignature, ErrorCode::kBadState, ErrorCode::kBadState}));
  Drop();
  // Hostile proposals: amounts that would overflow, and a flood of proposals from one peer.
  OpenMsg hostile;
  hostile.temp_id.bytes.fill(0x66);
  hostile.funding = Funding();
  hostile.funding.cwa = UINT64_MAX;
  hostile.commit_fee = UINT64_MAX / 2;
  hostile.inputs.assign(32, FundingInput{{hostile.temp_id, 0}, {consensus::Amount{INT64_MAX}, consensus::Condition::Key(a->pub())}});
  b->engine().OnMessage("a", hostile);
  hostile.funding.cwa = 500'000;
  b->engine().OnMessage("a", hostile);  // the commit fee is above a quarter of the deposits
  EXPECT_FALSE(b->engine().Get(hostile.temp_id));
  Drop();
  hostile.commit_fee = 2'000;
  hostile.inputs.resize(1);
  int accepted = 0;
  for (std::uint8_t i = 0; i < 8; ++i) {
    hostile.temp_id.bytes[0] = i;
    b->engine().OnMessage("a", hostile);
    accepted += b->engine().Get(hostile.temp_id).has_value();
  }
  EXPECT_LE(accepted, 4);  // at most 4 proposals per peer hold B's coins
  Drop();
  EXPECT_EQ(a->engine().Pay(live, 600'000).code, EngineResult::Code::kInvalidArgument);
  EXPECT_EQ(b->engine().Pay(live, 1'000).code, EngineResult::Code::kFailedPrecondition);
}

TEST_F(EngineTest, AsTheChainCountsAsMeterItPaysForWhatItReceived) {
  // 1,000 kWh asked at the funding slot's price (1 unit per kWh on this chain: no demand before).
  OpenRequest req;
  req.peer = "b";
  req.funding = Funding();
  req.funding.energy_wh = 1'000'000;
  ASSERT_EQ(req.funding.price, 1u);
  Hash256 id;
  ASSERT_TRUE(a->engine().Open(req, id).ok());
  Deliver();
  MineBlock();
  ASSERT_EQ(a->engine().Get(id)->phase, Phase::kOpen);
  // Before the delivery interval [1000, 2000): not evidence, not paid.
  CountImport(500, 300, 50'000);
  Deliver();
  EXPECT_EQ(b->engine().Get(id)->state, 0u);
  // Each counted interval of A's meter inside it is one update.
  CountImport(1'000, 300, 400'000);
  Deliver();
  EXPECT_EQ(b->engine().Get(id)->state, 1u);
  EXPECT_EQ(b->engine().Get(id)->cc, 400u);
  CountImport(1'300, 300, 300'000);
  Deliver();
  EXPECT_EQ(b->engine().Get(id)->state, 2u);
  EXPECT_EQ(b->engine().Get(id)->cc, 700u);
  // Beyond the energy asked: capped at it.
  CountImport(1'600, 300, 900'000);
  Deliver();
  EXPECT_EQ(b->engine().Get(id)->state, 3u);
  EXPECT_EQ(b->engine().Get(id)->cc, 1'000u);
  MineBlocks(2);  // nothing new counted: no update
  Deliver();
  EXPECT_EQ(a->engine().Get(id)->state, 3u);
}

TEST_F(EngineTest, GroupCommitPersistsEveryChannelsStateBeforeAnyReply) {
  // Two channels between A and B; A pays both with one synced write, B answers both with one.
  const Hash256 one = OpenFunded();
  const Hash256 two = OpenFunded();
  ASSERT_TRUE(a->engine().PayBatch({{one, 1'000}, {two, 2'000}}).ok());
  // Both updates are on A's disk before they leave: a restart now loses neither.
  ASSERT_EQ(queue.size(), 2u);
  a->Restart();
  EXPECT_TRUE(a->engine().Get(one)->pending);
  EXPECT_TRUE(a->engine().Get(two)->pending);
  std::vector<channels::ChannelMessage> updates;
  for (const auto& m : queue) {
    channels::ChannelMessage x;
    ASSERT_EQ(DecodeChannelMessage(m.bytes, x), consensus::DecodeError::kOk);
    updates.push_back(x);
  }
  Drop();
  b->engine().OnMessages("a", updates);
  ASSERT_EQ(std::count_if(queue.begin(), queue.end(), [](const InFlight& m) { return m.to == "a"; }), 2);
  b->Restart();  // B's two co-signed states were synced before its acks left
  EXPECT_EQ(b->engine().Get(one)->cc, 1'000u);
  EXPECT_EQ(b->engine().Get(two)->cc, 2'000u);
  Deliver();
  EXPECT_FALSE(a->engine().Get(one)->pending);
  EXPECT_EQ(a->engine().Get(two)->state, 1u);
  // A channel that cannot take the payment is named; the others still go.
  const auto r = a->engine().PayBatch({{one, 500}, {two, 3'000}});
  EXPECT_EQ(r.code, EngineResult::Code::kFailedPrecondition);
  Deliver();
  EXPECT_EQ(b->engine().Get(two)->cc, 3'000u);
  EXPECT_EQ(b->engine().Get(one)->cc, 1'000u);
}

TEST_F(EngineTest, TheTowerSupersedesAStalePostWhileBIsOffline) {
  const Hash256 id = OpenFunded();
  const ChannelId ch = Channel(id);
  for (std::uint64_t n = 1; n <= 2; ++n) {
    ASSERT_TRUE(a->engine().Pay(id, n * 10'000).ok());
    Deliver();
  }
  BackUp("a");
  for (std::uint64_t n = 3; n <= 5; ++n) {
    ASSERT_TRUE(a->engine().Pay(id, n * 10'000).ok());
    Deliver();
  }
  // The tower kept each newer state once (B's copy comes first, A's is not newer), and holds state 5.
  ASSERT_TRUE(u->tower().Held(ch));
  EXPECT_EQ(u->tower().Held(ch)->commitment.state, 5u);
  EXPECT_EQ(std::count(verdicts.begin(), verdicts.end(), Watchtower::Verdict::kKept), 5);
  EXPECT_EQ(std::count(verdicts.begin(), verdicts.end(), Watchtower::Verdict::kNotNewer), 5);
  // Refusals: a forged state, a state of no channel, an old state.
  auto forged = *u->tower().Held(ch);
  forged.commitment.state = 9;
  EXPECT_EQ(u->tower().Accept(forged), Watchtower::Verdict::kBadSignature);
  auto unknown = *u->tower().Held(ch);
  unknown.commitment.channel.index = 1;
  EXPECT_EQ(u->tower().Accept(unknown), Watchtower::Verdict::kUnknownChannel);
  // B goes offline; A is restored from its state-2 backup, and posts state 2.
  b->offline = true;
  RestoreFromBackUp("a");
  Hash256 post;
  ASSERT_TRUE(a->engine().ForceClose(id, post).ok());
  MineBlock();  // the stale post confirms; the tower posts state 5 at once
  EXPECT_EQ(Reader().Channel(ch)->posted_state, 2u);
  EXPECT_EQ(u->tower().Disputes(), 1u);
  MineBlock();
  EXPECT_EQ(Reader().Channel(ch)->posted_state, 5u);
  MineBlock();
  EXPECT_EQ(u->tower().Disputes(), 0u);
  const std::int64_t before_b = b->Balance();
  MineBlocks(4);  // A's engine settles the newest posted state after the window
  EXPECT_FALSE(Reader().Channel(ch));
  EXPECT_FALSE(u->tower().Held(ch));  // settled: forgotten
  EXPECT_EQ(b->Balance(), before_b + 300'000 + 50'000);
}

TEST_F(EngineTest, ATowerThatWasDownWhenAStalePostConfirmedAnswersItOnCatchUp) {
  const Hash256 id = OpenFunded();
  const ChannelId ch = Channel(id);
  ASSERT_TRUE(a->engine().Pay(id, 10'000).ok());
  Deliver();
  BackUp("a");
  for (std::uint64_t n = 2; n <= 4; ++n) {
    ASSERT_TRUE(a->engine().Pay(id, n * 10'000).ok());
    Deliver();
  }
  ASSERT_EQ(u->tower().Held(ch)->commitment.state, 4u);
  // B and the utility are down when A, restored at state 1, posts it and the post confirms.
  b->offline = true;
  u->offline = true;
  RestoreFromBackUp("a");
  Hash256 post;
  ASSERT_TRUE(a->engine().ForceClose(id, post).ok());
  MineBlock();
  ASSERT_EQ(Reader().Channel(ch)->posted_state, 1u);
  EXPECT_EQ(u->tower().Disputes(), 0u);  // it never saw that block
  // Back up: one look at the chain (no block needed) and the tower posts state 4.
  u->offline = false;
  EXPECT_EQ(u->tower().CatchUp(), 1u);
  MineBlock();
  EXPECT_EQ(Reader().Channel(ch)->posted_state, 4u);
  EXPECT_EQ(u->tower().CatchUp(), 0u);  // nothing stale any more
}

}  // namespace
