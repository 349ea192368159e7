// The address book: bounded per source group, new -> tried movement, selection, gossip,
// eviction, and persistence (round trip, damaged files, another network's file).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "net/addrman.h"
#include "tests/unit/net/net_test_util.h"

namespace wattline::net {
namespace {

using test::RegtestMagic;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr AddrMan::Key kKey{1, 2, 3};

Service V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port = 9733) {
  return Service{NetAddress::FromIPv4({a, b, c, d}), port};
}

AddrEntry Entry(const Service& s, std::int64_t last_seen = kNow - 3600) { return AddrEntry{s, 1, last_seen}; }

/** n distinct addresses spread over many /16 groups. */
std::vector<AddrEntry> Spread(std::size_t n, std::uint8_t first_octet = 20) {
  std::vector<AddrEntry> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(Entry(V4(static_cast<std::uint8_t>(first_octet + i % 50), static_cast<std::uint8_t>(i / 50 % 256),
                           static_cast<std::uint8_t>(i % 251), static_cast<std::uint8_t>(1 + i / 12800))));
  }
  return out;
}

std::set<std::size_t> NewBucketsUsed(const AddrMan& book, const std::vector<AddrEntry>& entries) {
  std::set<std::size_t> buckets;
  for (const auto& e : entries) {
    if (auto loc = book.LocationOf(e.service); loc && !loc->tried) buckets.insert(loc->bucket);
  }
  return buckets;
}

TEST(AddrManTest, AddFindAndDuplicates) {
  AddrMan book(RegtestMagic(), kKey, 1);
  const NetAddress source = NetAddress::FromIPv4({9, 9, 9, 9});
  EXPECT_EQ(book.Add({Entry(V4(1, 2, 3, 4)), Entry(V4(1, 2, 3, 5))}, source, kNow), 2u);
  EXPECT_EQ(book.Add({Entry(V4(1, 2, 3, 4))}, source, kNow), 0u);  // known
  EXPECT_EQ(book.size(), 2u);
  EXPECT_EQ(book.new_count(), 2u);
  const auto info = book.Find(V4(1, 2, 3, 4));
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->tried);
  EXPECT_EQ(info->source, source);
  // Invalid entries are skipped.
  EXPECT_EQ(book.Add({Entry(V4(0, 0, 0, 0)), Entry(V4(1, 2, 3, 6, 0))}, source, kNow), 0u);
  // A time from the future counts as five days old.
  EXPECT_EQ(book.Add({Entry(V4(5, 5, 5, 5), kNow + 86400)}, source, kNow), 1u);
  EXPECT_EQ(book.Find(V4(5, 5, 5, 5))->last_seen, kNow - 5 * 86400);
}

TEST(AddrManTest, OneSourceFillsOnlyItsBuckets) {
  AddrMan book(RegtestMagic(), kKey, 2);
  const auto flood = Spread(20'000);
  const NetAddress attacker = NetAddress::FromIPv4({66, 66, 1, 1});
  book.Add(flood, attacker, kNow);
  const auto buckets = NewBucketsUsed(book, flood);
  EXPECT_LE(buckets.size(), AddrMan::kNewBucketsPerSourceGroup);
  EXPECT_LE(book.new_count(), AddrMan::kNewBucketsPerSourceGroup * AddrMan::kBucketSize);
  // Other hosts of the attacker's /16 are the same source group: no more room.
  for (std::uint8_t host = 2; host < 40; ++host) {
    book.Add(Spread(2000, static_cast<std::uint8_t>(100 + host)), NetAddress::FromIPv4({66, 66, host, host}), kNow);
  }
  EXPECT_LE(book.new_count(), AddrMan::kNewBucketsPerSourceGroup * AddrMan::kBucketSize);

  // An honest source in another group still finds room for most of its addresses.
  const auto honest = Spread(200, 180);
  const std::size_t added = book.Add(honest, NetAddress::FromIPv4({77, 1, 1, 1}), kNow);
  EXPECT_GT(added, 150u);
}

TEST(AddrManTest, ManySourceGroupsSpreadOverTheTable) {
  AddrMan book(RegtestMagic(), kKey, 3);
  const auto addrs = Spread(5000);
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    book.Add({addrs[i]}, NetAddress::FromIPv4({static_cast<std::uint8_t>(1 + i % 200), static_cast<std::uint8_t>(i % 7), 0, 1}),
             kNow);
  }
  EXPECT_GT(NewBucketsUsed(book, addrs).size(), AddrMan::kNewBucketsPerSourceGroup * 4);
}

TEST(AddrManTest, IPv6SourcesGroupByThe32) {
  AddrMan book(RegtestMagic(), kKey, 4);
  const auto flood = Spread(10'000);
  for (int i = 0; i < 50; ++i) {
    std::array<std::uint8_t, 16> ip{0x2a, 0x01, 0x04, 0xf8};
    ip[15] = static_cast<std::uint8_t>(i);
    ip[6] = static_cast<std::uint8_t>(i * 3);
    book.Add(flood, NetAddress::FromIPv6(ip), kNow);
  }
  EXPECT_LE(NewBucketsUsed(book, flood).size(), AddrMan::kNewBucketsPerSourceGroup);
}

TEST(AddrManTest, PlacementDependsOnTheSecretKey) {
  AddrMan a(RegtestMagic(), kKey, 5);
  AddrMan b(RegtestMagic(), AddrMan::Key{9, 9, 9}, 5);
  const auto addrs = Spread(50);
  const NetAddress src = NetAddress::FromIPv4({8, 8, 8, 8});
  a.Add(addrs, src, kNow);
  b.Add(addrs, src, kNow);
  std::size_t same = 0;
  for (const auto& e : addrs) {
    const auto la = a.LocationOf(e.service), lb = b.LocationOf(e.service);
    if (la && lb && la->bucket == lb->bucket && la->slot == lb->slot) ++same;
  }
  EXPECT_LT(same, 5u);
  // Books made with random keys place differently.
  AddrMan c(RegtestMagic()), d(RegtestMagic());
  c.Add(addrs, src, kNow);
  d.Add(addrs, src, kNow);
  std::size_t same_random = 0;
  for (const auto& e : addrs) {
    const auto lc = c.LocationOf(e.service), ld = d.LocationOf(e.service);
    if (lc && ld && lc->bucket == ld->bucket && lc->slot == ld->slot) ++same_random;
  }
  EXPECT_LT(same_random, 5u);
}

TEST(AddrManTest, GoodMovesToTriedAndAttemptCounts) {
  AddrMan book(RegtestMagic(), kKey, 6);
  const NetAddress src = NetAddress::FromIPv4({8, 8, 8, 8});
  book.Add(Spread(100), src, kNow);
  const std::size_t new_before = book.new_count();
  const Service s = Spread(100)[17].service;
  ASSERT_TRUE(book.Find(s).has_value());
  EXPECT_FALSE(book.Good(V4(1, 1, 1, 1), kNow));  // unknown
  book.Attempt(s, kNow - 10);
  EXPECT_EQ(book.Find(s)->attempts, 1u);
  EXPECT_TRUE(book.Good(s, kNow));
  const auto info = book.Find(s);
  EXPECT_TRUE(info->tried);
  EXPECT_EQ(info->attempts, 0u);
  EXPECT_EQ(info->last_success, kNow);
  EXPECT_EQ(book.tried_count(), 1u);
  EXPECT_EQ(book.new_count(), new_before - 1);
  EXPECT_TRUE(book.LocationOf(s)->tried);
  EXPECT_TRUE(book.Good(s, kNow + 1));  // again: stays
  EXPECT_EQ(book.tried_count(), 1u);
}

TEST(AddrManTest, TriedCollisionSendsTheOccupantBackToNew) {
  AddrMan book(RegtestMagic(), kKey, 7);
  const NetAddress src = NetAddress::FromIPv4({8, 8, 8, 8});
  // Addresses of one /16 share at most kTriedBucketsPerGroup tried buckets: promote many until
  // two collide, and check nothing is lost or duplicated.
  std::vector<AddrEntry> group;
  for (int i = 0; i < 2000; ++i) group.push_back(Entry(V4(30, 1, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(1 + i % 250))));
  book.Add(group, src, kNow);
  const std::size_t before = book.size();
  for (const auto& e : group) book.Good(e.service, kNow);
  EXPECT_LE(book.tried_count(), AddrMan::kTriedBucketsPerGroup * AddrMan::kBucketSize);
  EXPECT_EQ(book.tried_count() + book.new_count(), book.size());
  EXPECT_LE(book.size(), before);
  std::size_t tried = 0;
  for (const auto& e : group) {
    if (auto info = book.Find(e.service)) tried += info->tried ? 1 : 0;
  }
  EXPECT_EQ(tried, book.tried_count());
}

TEST(AddrManTest, SelectAndGetAddr) {
  AddrMan book(RegtestMagic(), kKey, 8);
  EXPECT_FALSE(book.Select(false, kNow).has_value());
  const auto addrs = Spread(400);
  book.Add(addrs, NetAddress::FromIPv4({8, 8, 8, 8}), kNow);
  book.Add(Spread(400, 120), NetAddress::FromIPv4({9, 8, 8, 8}), kNow);
  for (int i = 0; i < 20; ++i) book.Good(addrs[static_cast<std::size_t>(i)].service, kNow);
  std::set<bool> tables;
  for (int i = 0; i < 200; ++i) {
    const auto pick = book.Select(false, kNow);
    ASSERT_TRUE(pick.has_value());
    tables.insert(pick->tried);
    const auto fresh = book.Select(true, kNow);
    ASSERT_TRUE(fresh.has_value());
    EXPECT_FALSE(fresh->tried);
  }
  EXPECT_EQ(tables.size(), 2u);  // both tables are drawn from
  const auto gossip = book.GetAddr(1000, kNow);
  EXPECT_LE(gossip.size(), book.size() * AddrMan::kGetAddrMaxPercent / 100);
  EXPECT_GT(gossip.size(), 0u);
  std::set<Service> distinct;
  for (const auto& e : gossip) distinct.insert(e.service);
  EXPECT_EQ(distinct.size(), gossip.size());
  EXPECT_LE(book.GetAddr(10, kNow).size(), 10u);
}

TEST(AddrManTest, ASmallBookIsSharedWhole) {
  AddrMan book(RegtestMagic(), kKey, 12);
  const NetAddress src = NetAddress::FromIPv4({8, 8, 8, 8});
  book.Add({Entry(V4(1, 0, 0, 1)), Entry(V4(2, 0, 0, 1)), Entry(V4(3, 0, 0, 1)), Entry(V4(4, 0, 0, 1))}, src, kNow);
  ASSERT_EQ(book.size(), 4u);
  EXPECT_EQ(book.GetAddr(1000, kNow).size(), 4u);  // 23% of 4 would be none: a testnet could not gossip
  EXPECT_EQ(book.GetAddr(2, kNow).size(), 2u);
}

TEST(AddrManTest, TerribleEntriesAreEvicted) {
  AddrMan book(RegtestMagic(), kKey, 9);
  const NetAddress src = NetAddress::FromIPv4({8, 8, 8, 8});
  book.Add({Entry(V4(1, 0, 0, 1)), Entry(V4(1, 0, 0, 2)), Entry(V4(1, 0, 0, 3), kNow - 40 * 86400)}, src, kNow);
  for (int i = 0; i < 3; ++i) book.Attempt(V4(1, 0, 0, 1), kNow - 1000 + i);  // never worked
  EXPECT_TRUE(IsTerrible(*book.Find(V4(1, 0, 0, 1)), kNow));
  EXPECT_TRUE(IsTerrible(*book.Find(V4(1, 0, 0, 3)), kNow));   // a month old
  EXPECT_FALSE(IsTerrible(*book.Find(V4(1, 0, 0, 2)), kNow));
  EXPECT_FALSE(IsTerrible(*book.Find(V4(1, 0, 0, 1)), kNow - 1000 + 2 + 30));  // just tried: spare it
  for (const auto& e : book.GetAddr(1000, kNow)) EXPECT_EQ(e.service, V4(1, 0, 0, 2));
  EXPECT_EQ(book.EvictTerrible(kNow), 2u);
  EXPECT_EQ(book.size(), 1u);
}

// Found by fuzz_p2p_state_files: a stored time of INT64_MIN made `now - last_seen` overflow.
// Ages are computed without overflow, and a file with such times is damage.
TEST(AddrManTest, ExtremeTimesDoNotOverflow) {
  AddrInfo info;
  info.last_seen = INT64_MIN;
  info.last_try = INT64_MIN;
  info.last_success = INT64_MIN;
  info.attempts = 10;
  EXPECT_TRUE(IsTerrible(info, kNow));
  info.last_seen = INT64_MAX;
  info.last_try = INT64_MAX;
  info.last_success = INT64_MAX;
  EXPECT_FALSE(IsTerrible(info, kNow));  // "being tried" (a try in the future)
  info.last_try = 0;
  EXPECT_TRUE(IsTerrible(info, kNow));   // seen in the far future
  EXPECT_TRUE(IsTerrible(info, INT64_MIN));
  AddrMan book(RegtestMagic(), kKey, 11);
  EXPECT_EQ(book.Add({Entry(V4(1, 2, 3, 4), INT64_MAX)}, NetAddress::FromIPv4({8, 8, 8, 8}), kNow), 1u);
  EXPECT_EQ(book.Find(V4(1, 2, 3, 4))->last_seen, kNow - 5 * 86400);
}

TEST(AddrManTest, NewcomerReplacesOnlyATerribleOccupant) {
  // Find two addresses from one source that map to the same new slot.
  AddrMan book(RegtestMagic(), kKey, 10);
  const NetAddress src = NetAddress::FromIPv4({8, 8, 8, 8});
  const auto addrs = Spread(20'000);
  book.Add({addrs[0]}, src, kNow);
  const auto loc0 = *book.LocationOf(addrs[0].service);
  std::optional<AddrEntry> rival;
  AddrMan probe(RegtestMagic(), kKey, 10);  // same key: same placement
  for (std::size_t i = 1; i < addrs.size() && !rival; ++i) {
    probe.Add({addrs[i]}, src, kNow);
    const auto loc = probe.LocationOf(addrs[i].service);
    if (loc && loc->bucket == loc0.bucket && loc->slot == loc0.slot) rival = addrs[i];
  }
  ASSERT_TRUE(rival.has_value());
  EXPECT_EQ(book.Add({*rival}, src, kNow), 0u);  // occupant is fine: kept
  for (int i = 0; i < 3; ++i) book.Attempt(addrs[0].service, kNow - 500);
  EXPECT_EQ(book.Add({*rival}, src, kNow), 1u);  // occupant is terrible: replaced
  EXPECT_FALSE(book.Find(addrs[0].service).has_value());
}

TEST(AddrManTest, PersistenceRoundTrip) {
  test::TempDir dir;
  const auto path = dir.path() / "peers.dat";
  AddrMan book(RegtestMagic());
  // First, into an empty book (the key is random: later it could collide and be dropped).
  std::array<std::uint8_t, 16> v6{0x2a, 0x02};
  v6[15] = 7;
  ASSERT_EQ(book.Add({Entry(Service{NetAddress::FromIPv6(v6), 19733})}, NetAddress::FromIPv4({9, 9, 9, 9}), kNow), 1u);
  const auto addrs = Spread(3000);
  book.Add(addrs, NetAddress::FromIPv4({8, 8, 8, 8}), kNow);
  book.Add(Spread(1000, 150), NetAddress::FromIPv4({9, 9, 9, 9}), kNow);
  for (int i = 0; i < 50; ++i) book.Good(addrs[static_cast<std::size_t>(i)].service, kNow);
  book.Attempt(addrs[60].service, kNow);
  ASSERT_TRUE(book.Save(path).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "peers.dat.tmp"));

  AddrMan loaded(RegtestMagic());
  ASSERT_TRUE(loaded.Load(path).ok());
  EXPECT_EQ(loaded.size(), book.size());
  EXPECT_EQ(loaded.tried_count(), book.tried_count());
  for (const auto& e : addrs) {
    ASSERT_EQ(loaded.Find(e.service).has_value(), book.Find(e.service).has_value());
    if (!book.Find(e.service)) continue;
    EXPECT_EQ(*loaded.Find(e.service), *book.Find(e.service));
    // The key was persisted: same buckets and slots.
    EXPECT_EQ(loaded.LocationOf(e.service)->bucket, book.LocationOf(e.service)->bucket);
    EXPECT_EQ(loaded.LocationOf(e.service)->slot, book.LocationOf(e.service)->slot);
  }
  EXPECT_TRUE(loaded.Find(Service{NetAddress::FromIPv6(v6), 19733}).has_value());
  // Saving what was loaded gives the same content again.
  const auto path2 = dir.path() / "peers2.dat";
  ASSERT_TRUE(loaded.Save(path2).ok());
  AddrMan again(RegtestMagic());
  ASSERT_TRUE(again.Load(path2).ok());
  EXPECT_EQ(again.size(), book.size());
}

TEST(AddrManTest, ConcurrentUseAndSaves) {
  test::TempDir dir;
  const auto path = dir.path() / "peers.dat";
  AddrMan book(RegtestMagic(), kKey, 13);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const auto addrs = Spread(300, static_cast<std::uint8_t>(20 + 50 * t));
      const NetAddress src = NetAddress::FromIPv4({static_cast<std::uint8_t>(100 + t), 1, 1, 1});
      for (std::size_t i = 0; i < addrs.size(); ++i) {
        book.Add({addrs[i]}, src, kNow);
        if (i % 3 == 0) book.Good(addrs[i].service, kNow);
        if (i % 5 == 0) book.Attempt(addrs[i].service, kNow);
        (void)book.Select(false, kNow);
        if (i % 100 == 0) EXPECT_TRUE(book.Save(path).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(book.new_count() + book.tried_count(), book.size());
  ASSERT_TRUE(book.Save(path).ok());
  AddrMan loaded(RegtestMagic());
  ASSERT_TRUE(loaded.Load(path).ok());
  EXPECT_EQ(loaded.size(), book.size());
}

TEST(AddrManTest, MissingFileIsAnEmptyBook) {
  test::TempDir dir;
  AddrMan book(RegtestMagic());
  book.Add(Spread(10), NetAddress::FromIPv4({8, 8, 8, 8}), kNow);
  EXPECT_TRUE(book.Load(dir.path() / "peers.dat").ok());
  EXPECT_EQ(book.size(), 0u);
}

class AddrManCorruptTest : public ::testing::TestWithParam<int> {};

TEST_P(AddrManCorruptTest, DamagedFileGivesAClearErrorAndAFreshBook) {
  test::TempDir dir;
  const auto path = dir.path() / "peers.dat";
  {
    AddrMan book(RegtestMagic());
    book.Add(Spread(500), NetAddress::FromIPv4({8, 8, 8, 8}), kNow);
    ASSERT_TRUE(book.Save(path).ok());
  }
  std::vector<char> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  switch (GetParam()) {
    case 0: bytes[bytes.size() / 2] ^= 0x01; break;   // a flipped bit in an entry
    case 1: bytes.resize(bytes.size() - 1); break;     // truncated
    case 2: bytes.resize(10); break;                   // truncated to less than a header
    case 3: bytes[0] = 'X'; break;                     // not an address book
    case 4: bytes[4] = 9; break;                       // another format version
    case 5: bytes.clear(); break;                      // empty
    case 6: bytes.insert(bytes.end(), 100, 'z'); break; // trailing garbage
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  AddrMan book(RegtestMagic());
  book.Add(Spread(5), NetAddress::FromIPv4({8, 8, 8, 8}), kNow);
  const ledger::Status st = book.Load(path);
  EXPECT_EQ(st.code(), ledger::Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("peers.dat"), std::string::npos) << st.message();
  EXPECT_EQ(book.size(), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "peers.dat.corrupt"));
  EXPECT_FALSE(std::filesystem::exists(path));
  // The fresh book works and saves over the old name.
  EXPECT_GT(book.Add(Spread(5), NetAddress::FromIPv4({8, 8, 8, 8}), kNow), 0u);
  ASSERT_TRUE(book.Save(path).ok());
  AddrMan reloaded(RegtestMagic());
  EXPECT_TRUE(reloaded.Load(path).ok());
  EXPECT_EQ(reloaded.size(), book.size());
}

INSTANTIATE_TEST_SUITE_P(Damage, AddrManCorruptTest, ::testing::Range(0, 7));

TEST(AddrManTest, AnotherNetworksFileIsRefused) {
  test::TempDir dir;
  const auto path = dir.path() / "peers.dat";
  AddrMan main_book(test::MainMagic());
  main_book.Add(Spread(5), NetAddress::FromIPv4({8, 8, 8, 8}), kNow);
  ASSERT_TRUE(main_book.Save(path).ok());
  AddrMan book(RegtestMagic());
  EXPECT_EQ(book.Load(path).code(), ledger::Status::Code::kWrongNetwork);
  EXPECT_EQ(book.size(), 0u);
  EXPECT_TRUE(std::filesystem::exists(path));  // not ours to set aside
}

}  // namespace
}  // namespace wattline::net
