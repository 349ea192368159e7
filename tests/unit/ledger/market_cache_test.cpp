// The chainstate's market cache: meter states inline, other keys in a map, both read through
// to the database, erased keys hidden, a key in one place only, and a flush that writes exactly
// the pending state.
#include "ledger/market_db.h"

#include <gtest/gtest.h>

#include "tests/unit/ledger/ledger_fixture.h"

using namespace wattline;
using consensus::Bytes;

namespace {

consensus::MeterId Id(std::uint8_t b) {
  consensus::MeterId id;
  id.bytes.fill(b);
  return id;
}

Bytes State(std::uint32_t height) {
  consensus::MeterState s;
  s.registered = true;
  s.registered_height = height;
  return consensus::EncodeMeterState(s);
}

class MarketCacheTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::unique_ptr<ledger::Database> db;
  std::unique_ptr<ledger::MarketDB> market_db;
  void SetUp() override {
    ASSERT_TRUE(ledger::Database::Open(dir.path() / "db", 1u << 20, db).ok());
    market_db = std::make_unique<ledger::MarketDB>(*db);
  }
  void Flush(ledger::MarketCache& cache) {
    leveldb::WriteBatch batch;
    cache.FlushTo(batch);
    db->Write(batch, /*sync=*/false);
  }
};

}  // namespace

TEST_F(MarketCacheTest, MeterStatesHaveTheInlineSize) {
  EXPECT_EQ(State(0).size(), ledger::MarketCache::kInlineMeterState);
  EXPECT_EQ(State(0xffffffff).size(), ledger::MarketCache::kInlineMeterState);
}

TEST_F(MarketCacheTest, WritesReadBackAndFlushToTheDatabase) {
  ledger::MarketCache cache(market_db.get());
  const std::string m1 = consensus::market_keys::Meter(Id(1));
  const std::string m2 = consensus::market_keys::Meter(Id(2));
  const std::string demand = consensus::market_keys::Demand(7);
  EXPECT_FALSE(cache.Read(m1));
  cache.Write(m1, State(10));
  cache.Write(m2, State(20));
  cache.Write(demand, Bytes{1, 2, 3});
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_GT(cache.MemoryUsage(), 0u);
  EXPECT_EQ(cache.Read(m1), State(10));
  EXPECT_EQ(cache.Read(demand), (Bytes{1, 2, 3}));
  cache.Write(m1, State(11));  // overwrite in place
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Read(m1), State(11));
  EXPECT_FALSE(market_db->Read(m1));  // nothing reached the database yet

  Flush(cache);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.MemoryUsage(), 0u);
  EXPECT_EQ(market_db->Read(m1), State(11));
  EXPECT_EQ(market_db->Read(m2), State(20));
  EXPECT_EQ(market_db->Read(demand), (Bytes{1, 2, 3}));
  EXPECT_EQ(cache.Read(m2), State(20));  // read through

  // Erases hide the stored value until the flush deletes it.
  cache.Write(m2, std::nullopt);
  cache.Write(demand, std::nullopt);
  EXPECT_FALSE(cache.Read(m2));
  EXPECT_FALSE(cache.Read(demand));
  EXPECT_TRUE(market_db->Read(m2));
  Flush(cache);
  EXPECT_FALSE(market_db->Read(m2));
  EXPECT_FALSE(market_db->Read(demand));
  EXPECT_EQ(market_db->Read(m1), State(11));
}

TEST_F(MarketCacheTest, AMeterKeyOfAnotherSizeLivesInOnePlace) {
  // A meter value of another length (a future encoding version) is kept in the ordered map;
  // writing either form replaces the other.
  ledger::MarketCache cache(market_db.get());
  const std::string m = consensus::market_keys::Meter(Id(3));
  cache.Write(m, State(1));
  cache.Write(m, Bytes(130, 0xab));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Read(m), Bytes(130, 0xab));
  cache.Write(m, State(2));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Read(m), State(2));
  Flush(cache);
  EXPECT_EQ(market_db->Read(m), State(2));
}
