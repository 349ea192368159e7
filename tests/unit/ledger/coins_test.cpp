#include "ledger/coins.h"

#include <gtest/gtest.h>

#include "ledger/undo.h"
#include "tests/unit/ledger/ledger_fixture.h"

using namespace wattline;
using namespace wattline::ledger;
using wattline::test::TempDir;
using wattline::test::TestKey;

namespace {

Coin MakeCoin(std::int64_t units, std::uint32_t height, bool coinbase = false) {
  return Coin{{consensus::Amount{units}, consensus::Condition::Key(TestKey(1).PubKey())}, height, coinbase};
}

OutPoint Op(std::uint8_t n, std::uint32_t index = 0) {
  OutPoint op;
  op.txid.bytes[0] = n;
  op.index = index;
  return op;
}

class CoinsTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<Database> db;
  void SetUp() override { ASSERT_TRUE(Database::Open(dir.path() / "db", 1 << 20, db).ok()); }
};

}  // namespace

TEST(CoinEncoding, RoundTripAndRejects) {
  Coin c = MakeCoin(123456789, 77, true);
  auto bytes = EncodeCoin(c);
  Coin d;
  consensus::Reader r(bytes);
  ASSERT_TRUE(DecodeCoin(r, d) && r.ExpectEnd());
  EXPECT_EQ(c, d);
  bytes.pop_back();
  consensus::Reader r2(bytes);
  EXPECT_FALSE(DecodeCoin(r2, d));
  EXPECT_EQ(r2.error(), consensus::DecodeError::kTruncated);
}

TEST(UndoEncoding, RoundTripAndRejectsTrailingBytes) {
  BlockUndo undo{{MakeCoin(1, 1), MakeCoin(2, 2, true)}};
  auto bytes = EncodeUndo(undo);
  BlockUndo back;
  ASSERT_EQ(DecodeUndo(bytes, back), consensus::DecodeError::kOk);
  EXPECT_EQ(back.spent, undo.spent);
  bytes.push_back(0);
  EXPECT_EQ(DecodeUndo(bytes, back), consensus::DecodeError::kTrailingBytes);
  consensus::Bytes huge{0xff, 0xff, 0x03};  // count far beyond the input
  EXPECT_EQ(DecodeUndo(huge, back), consensus::DecodeError::kCountTooLarge);
}

TEST_F(CoinsTest, CacheAddSpendFlushToDatabase) {
  CoinsDB base(*db);
  CoinsCache cache(&base);
  cache.AddCoin(Op(1), MakeCoin(10, 1));
  cache.AddCoin(Op(2), MakeCoin(20, 1));
  ASSERT_NE(cache.AccessCoin(Op(1)), nullptr);
  EXPECT_THROW(cache.AddCoin(Op(1), MakeCoin(11, 1)), std::logic_error);
  // A fresh coin spent before any flush never reaches the database.
  EXPECT_TRUE(cache.SpendCoin(Op(2)));
  EXPECT_FALSE(cache.SpendCoin(Op(2)));
  crypto::Hash256 best;
  best.bytes[0] = 9;
  cache.Flush(best);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.MemoryUsage(), 0u);
  EXPECT_EQ(base.BestBlock(), best);
  EXPECT_TRUE(base.GetCoin(Op(1)));
  EXPECT_FALSE(base.GetCoin(Op(2)));
  // Spending a coin that is on disk writes a delete.
  EXPECT_TRUE(cache.SpendCoin(Op(1)));
  EXPECT_TRUE(base.GetCoin(Op(1)));
  cache.Flush(best);
  EXPECT_FALSE(base.GetCoin(Op(1)));
}

TEST_F(CoinsTest, ChildCacheAppliesAllOrNothing) {
  CoinsDB base(*db);
  CoinsCache parent(&base);
  parent.AddCoin(Op(1), MakeCoin(10, 1));
  parent.Flush({});
  {
    CoinsCache child(&parent);
    EXPECT_TRUE(child.SpendCoin(Op(1)));
    child.AddCoin(Op(3), MakeCoin(30, 2));
    // Dropped without Flush: the parent never sees it.
  }
  EXPECT_TRUE(parent.AccessCoin(Op(1)));
  EXPECT_FALSE(parent.AccessCoin(Op(3)));
  {
    CoinsCache child(&parent);
    EXPECT_TRUE(child.SpendCoin(Op(1)));
    child.AddCoin(Op(3), MakeCoin(30, 2));
    child.AddCoin(Op(4), MakeCoin(40, 2));
    EXPECT_TRUE(child.SpendCoin(Op(4)));
    child.Flush({});
  }
  EXPECT_FALSE(parent.AccessCoin(Op(1)));
  EXPECT_TRUE(parent.AccessCoin(Op(3)));
  EXPECT_FALSE(parent.AccessCoin(Op(4)));
  parent.Flush({});
  EXPECT_FALSE(base.GetCoin(Op(1)));
  EXPECT_TRUE(base.GetCoin(Op(3)));
  EXPECT_FALSE(base.GetCoin(Op(4)));
  // Restore a spent coin (as a disconnect does) through a child.
  {
    CoinsCache child(&parent);
    child.AddCoin(Op(1), MakeCoin(10, 1));
    child.Flush({});
  }
  parent.Flush({});
  EXPECT_TRUE(base.GetCoin(Op(1)));
}

TEST_F(CoinsTest, ForEachListsEveryCoin) {
  CoinsDB base(*db);
  CoinsCache cache(&base);
  for (std::uint8_t i = 1; i <= 20; ++i) cache.AddCoin(Op(i, i), MakeCoin(i, i));
  cache.Flush({});
  int n = 0;
  base.ForEach([&](const OutPoint& op, const Coin& c) {
    EXPECT_EQ(op.index, op.txid.bytes[0]);
    EXPECT_EQ(c.out.amount.units, op.index);
    ++n;
  });
  EXPECT_EQ(n, 20);
}
