// A proposal's life before its funding confirms: the funding record names its slot, so a
// proposal the other side never answers fails when that slot ends, and a funding that is out but
// never confirms fails six blocks after it; either side may cancel a proposal until state 0 is
// co-signed. Every failure gives the reserved coins back.
#include <gtest/gtest.h>

#include "tests/unit/channels/channel_net.h"

using namespace wattline;
using namespace wattline::test;
using namespace wattline::channels;

namespace {

class LifecycleTest : public ChannelNet {
 protected:
  Hash256 Propose() {
    OpenRequest req;
    req.peer = "b";
    req.funding = Funding();
    Hash256 id;
    EXPECT_TRUE(a->engine().Open(req, id).ok());
    return id;
  }
  /** Mines until the next block is in a later slot than the funding names. */
  void MinePastTheSlot(const Hash256& id) {
    const std::uint32_t slot = a->engine().Get(id)->funding.slot;
    while (consensus::SlotOfHeight(cs->Height() + 1, params) <= slot) MineBlock();
  }
};

TEST_F(LifecycleTest, AProposalNobodyAnswersFailsWhenItsSlotEndsAndReleasesItsCoins) {
  b->offline = true;
  const Hash256 id = Propose();
  Deliver();
  EXPECT_GT(a->Reserved(), 0u);
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kProposed);
  MinePastTheSlot(id);
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kFailed);
  EXPECT_EQ(a->Reserved(), 0u);
  // Failed stays failed across a restart (it was persisted), and a new proposal can use the coins.
  a->Restart();
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kFailed);
  b->offline = false;
  EXPECT_EQ(OpenFunded() == id, false);
}

TEST_F(LifecycleTest, EitherSideCancelsAProposalUntilStateZeroIsCoSigned) {
  const Hash256 id = Propose();
  Deliver(1);  // B has the open and has answered with accept (in the queue): its coins are reserved
  ASSERT_EQ(b->engine().Get(id)->phase, Phase::kAccepted);
  EXPECT_GT(b->Reserved(), 0u);
  ASSERT_TRUE(b->engine().Cancel(id).ok());
  EXPECT_EQ(b->engine().Get(id)->phase, Phase::kFailed);
  EXPECT_EQ(b->Reserved(), 0u);
  Deliver();  // the accept, then B's error: A gives up too
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kFailed);
  EXPECT_EQ(a->Reserved(), 0u);
  EXPECT_TRUE(pending.empty()) << "nothing was broadcast";
  EXPECT_EQ(a->engine().Cancel(id).code, EngineResult::Code::kFailedPrecondition);
  EXPECT_EQ(a->engine().Cancel(Hash256{}).code, EngineResult::Code::kNotFound);

  // Once state 0 is co-signed and the funding is out, only the chain ends it.
  const Hash256 second = Propose();
  Deliver();
  ASSERT_EQ(a->engine().Get(second)->phase, Phase::kFunding);
  const auto r = a->engine().Cancel(second);
  EXPECT_EQ(r.code, EngineResult::Code::kFailedPrecondition);
  EXPECT_NE(r.message.find("fails by itself at height"), std::string::npos) << r.message;
}

TEST_F(LifecycleTest, AFundingThatNeverConfirmsFailsSixBlocksAfterItsSlot) {
  a->refuse_broadcasts = true;  // A's coins were spent elsewhere: its funding is refused every block
  const Hash256 id = Propose();
  Deliver();
  ASSERT_EQ(a->engine().Get(id)->phase, Phase::kFunding);
  ASSERT_EQ(b->engine().Get(id)->phase, Phase::kFunding);
  EXPECT_TRUE(pending.empty());
  MinePastTheSlot(id);
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kFunding) << "a reorganisation into the slot could still confirm it";
  MineBlocks(6);
  EXPECT_EQ(a->engine().Get(id)->phase, Phase::kFailed);
  EXPECT_EQ(b->engine().Get(id)->phase, Phase::kFailed);
  EXPECT_EQ(a->Reserved(), 0u);
  EXPECT_EQ(b->Reserved(), 0u);
}

}  // namespace
