#include "crypto/sig_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace wattline::crypto;

namespace {

Hash256 Salt(std::uint8_t b) {
  Hash256 h;
  h.bytes.fill(b);
  return h;
}

SecretKey Key(std::uint8_t n) {
  std::array<std::uint8_t, 32> raw{};
  raw[31] = n;
  return *SecretKey::FromBytes(raw);
}

Hash256 Msg(std::uint32_t i) {
  Hash256 m;
  for (int b = 0; b < 4; ++b) m.bytes[b] = static_cast<std::uint8_t>(i >> (8 * b));
  m.bytes[31] = 0x5a;
  return m;
}

// An id that is not a real triple's: Insert and Contains only see 32 uniform bytes.
Hash256 FakeId(std::uint64_t i) {
  Sha256 h;
  h.Write(&i, sizeof i);
  return h.Finalize();
}

struct Triple {
  XOnlyPubKey key;
  Hash256 msg;
  Signature sig;
};

Triple Signed(std::uint8_t key, std::uint32_t msg) {
  const SecretKey k = Key(key);
  const Hash256 m = Msg(msg);
  return {k.PubKey(), m, k.Sign(m, Hash256{})};
}

}  // namespace

TEST(SigCache, RemembersAValidSignatureAndSkipsItsVerification) {
  SigCache cache(Salt(1), 1u << 16);
  const Triple t = Signed(1, 1);
  EXPECT_FALSE(cache.Contains(cache.EntryId(t.key, t.msg, t.sig)));
  EXPECT_TRUE(cache.Verify(t.key, t.msg, t.sig, SigCache::Mode::kRemember));
  EXPECT_EQ(cache.GetStats().verifications, 1u);
  EXPECT_EQ(cache.GetStats().inserts, 1u);
  EXPECT_TRUE(cache.Contains(cache.EntryId(t.key, t.msg, t.sig)));
  for (auto mode : {SigCache::Mode::kLookup, SigCache::Mode::kLookupAndRetire, SigCache::Mode::kRemember})
    EXPECT_TRUE(cache.Verify(t.key, t.msg, t.sig, mode));
  EXPECT_EQ(cache.GetStats().verifications, 1u);  // the three calls above were hits
  EXPECT_EQ(cache.GetStats().hits, 3u);
  EXPECT_EQ(cache.Count(), 1u);
}

TEST(SigCache, LookupModesStoreNothing) {
  SigCache cache(Salt(1), 1u << 16);
  const Triple t = Signed(1, 2);
  EXPECT_TRUE(cache.Verify(t.key, t.msg, t.sig, SigCache::Mode::kLookup));
  EXPECT_TRUE(cache.Verify(t.key, t.msg, t.sig, SigCache::Mode::kLookupAndRetire));
  EXPECT_EQ(cache.GetStats().verifications, 2u);
  EXPECT_EQ(cache.Count(), 0u);
}

TEST(SigCache, NeverStoresAnInvalidSignature) {
  SigCache cache(Salt(1), 1u << 16);
  Triple t = Signed(1, 3);
  t.sig.bytes[10] ^= 1;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(cache.Verify(t.key, t.msg, t.sig, SigCache::Mode::kRemember));
  EXPECT_EQ(cache.GetStats().verifications, 3u);
  EXPECT_EQ(cache.GetStats().hits, 0u);
  EXPECT_EQ(cache.Count(), 0u);
  XOnlyPubKey not_a_point;
  not_a_point.bytes.fill(0xff);  // above the field size: fails to parse
  EXPECT_FALSE(cache.Verify(not_a_point, t.msg, t.sig, SigCache::Mode::kRemember));
  EXPECT_EQ(cache.Count(), 0u);
}

TEST(SigCache, AnyChangeOfKeyMessageOrSignatureMisses) {
  SigCache cache(Salt(1), 1u << 16);
  const Triple t = Signed(1, 4);
  ASSERT_TRUE(cache.Verify(t.key, t.msg, t.sig, SigCache::Mode::kRemember));
  const Hash256 id = cache.EntryId(t.key, t.msg, t.sig);
  // Every single-bit change of every byte of the triple gives another id...
  for (std::size_t byte = 0; byte < 32 + 32 + 64; ++byte) {
    Triple c = t;
    std::uint8_t* p = byte < 32 ? &c.key.bytes[byte] : byte < 64 ? &c.msg.bytes[byte - 32] : &c.sig.bytes[byte - 64];
    *p ^= static_cast<std::uint8_t>(1u << (byte % 8));
    EXPECT_NE(cache.EntryId(c.key, c.msg, c.sig), id) << "byte " << byte;
    EXPECT_FALSE(cache.Contains(cache.EntryId(c.key, c.msg, c.sig))) << "byte " << byte;
  }
  // ...and a changed triple is verified, and fails, even with the original stored.
  const SigCache::Stats before = cache.GetStats();
  Triple other_key = t;
  other_key.key = Key(2).PubKey();
  Triple other_msg = t;
  other_msg.msg = Msg(5);
  Triple other_sig = t;
  other_sig.sig.bytes[63] ^= 0x80;
  for (const Triple* c : {&other_key, &other_msg, &other_sig})
    EXPECT_FALSE(cache.Verify(c->key, c->msg, c->sig, SigCache::Mode::kLookup));
  EXPECT_EQ(cache.GetStats().verifications, before.verifications + 3);
  EXPECT_EQ(cache.GetStats().hits, before.hits);
}

TEST(SigCache, ADifferentSaltGivesADifferentId) {
  SigCache a(Salt(1), 1u << 16), b(Salt(2), 1u << 16), a2(Salt(1), 1u << 16);
  const Triple t = Signed(1, 6);
  EXPECT_NE(a.EntryId(t.key, t.msg, t.sig), b.EntryId(t.key, t.msg, t.sig));
  EXPECT_EQ(a.EntryId(t.key, t.msg, t.sig), a2.EntryId(t.key, t.msg, t.sig));
  // The id is SHA256(salt || 0^32 || key || msg || sig), as the header says.
  Sha256 h;
  const std::array<std::uint8_t, 32> zeros{};
  h.Write(Salt(1).span()).Write(zeros.data(), zeros.size()).Write(t.key.span()).Write(t.msg.span()).Write(t.sig.span());
  EXPECT_EQ(a.EntryId(t.key, t.msg, t.sig), h.Finalize());
  // An entry stored under one salt is not found under another.
  ASSERT_TRUE(a.Verify(t.key, t.msg, t.sig, SigCache::Mode::kRemember));
  EXPECT_FALSE(b.Contains(b.EntryId(t.key, t.msg, t.sig)));
}

TEST(SigCache, UsesTheParsedKeyOnAMiss) {
  SigCache cache(Salt(3), 1u << 16);
  const Triple t = Signed(3, 7);
  const auto parsed = ParsedPubKey::Parse(t.key);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(cache.Verify(t.key, t.msg, t.sig, SigCache::Mode::kRemember, &*parsed));
  EXPECT_TRUE(cache.Contains(cache.EntryId(t.key, t.msg, t.sig)));
  Triple bad = t;
  bad.msg.bytes[0] ^= 1;
  EXPECT_FALSE(cache.Verify(bad.key, bad.msg, bad.sig, SigCache::Mode::kRemember, &*parsed));
}

TEST(SigCache, MemoryStaysWithinTheBudgetUnderManyInserts) {
  const std::size_t budget = 64u << 10;
  SigCache cache(Salt(4), budget);
  const std::size_t memory = cache.MemoryUsage();
  EXPECT_LE(memory, budget);
  EXPECT_GT(memory, budget / 2);
  const std::size_t capacity = cache.Capacity();
  ASSERT_GT(capacity, 0u);
  // Ten times the capacity: the table never grows, the count never passes the capacity, and
  // every insertion past a full bucket replaces an entry.
  for (std::uint64_t i = 0; i < 10 * capacity; ++i) {
    cache.Insert(FakeId(i));
    ASSERT_TRUE(cache.Contains(FakeId(i)));  // what was just stored is found
  }
  EXPECT_EQ(cache.MemoryUsage(), memory);
  EXPECT_LE(cache.Count(), capacity);
  EXPECT_GT(cache.Count(), capacity * 9 / 10);  // buckets fill evenly
  const SigCache::Stats s = cache.GetStats();
  EXPECT_EQ(s.inserts, 10 * capacity);
  EXPECT_EQ(s.inserts - s.evictions, cache.Count());
  // The newest entries survive: the replacement is in turn, not at random.
  std::size_t recent_found = 0;
  for (std::uint64_t i = 10 * capacity - 100; i < 10 * capacity; ++i) recent_found += cache.Contains(FakeId(i));
  EXPECT_GE(recent_found, 95u);
}

TEST(SigCache, ATinyBudgetStillHoldsOneBucket) {
  SigCache cache(Salt(5), 0);
  EXPECT_EQ(cache.Capacity(), SigCache::kWays);
  for (std::uint64_t i = 0; i < 100; ++i) cache.Insert(FakeId(i));
  EXPECT_EQ(cache.Count(), SigCache::kWays);
  for (std::uint64_t i = 100 - SigCache::kWays; i < 100; ++i) EXPECT_TRUE(cache.Contains(FakeId(i)));
}

TEST(SigCache, RetiredEntriesAreReplacedFirst) {
  SigCache cache(Salt(6), 0);  // one bucket: every id collides
  for (std::uint64_t i = 0; i < SigCache::kWays; ++i) cache.Insert(FakeId(i));
  // A connected block used entry 5; entry 2 was retired, then accepted again (a reorg).
  EXPECT_TRUE(cache.Contains(FakeId(5), SigCache::Mode::kLookupAndRetire));
  EXPECT_TRUE(cache.Contains(FakeId(2), SigCache::Mode::kLookupAndRetire));
  EXPECT_TRUE(cache.Contains(FakeId(2), SigCache::Mode::kRemember));
  cache.Insert(FakeId(100));
  EXPECT_FALSE(cache.Contains(FakeId(5)));
  for (std::uint64_t i = 0; i < SigCache::kWays; ++i)
    if (i != 5) EXPECT_TRUE(cache.Contains(FakeId(i))) << i;
  EXPECT_TRUE(cache.Contains(FakeId(100)));
}

TEST(SigCache, ClearForgetsEverything) {
  SigCache cache(Salt(7), 1u << 16);
  for (std::uint64_t i = 0; i < 50; ++i) cache.Insert(FakeId(i));
  cache.Clear();
  EXPECT_EQ(cache.Count(), 0u);
  for (std::uint64_t i = 0; i < 50; ++i) EXPECT_FALSE(cache.Contains(FakeId(i)));
}

// Several threads verify, insert and look up at once (run under the asan preset too): every
// answer equals crypto::Verify's, and the bound holds.
TEST(SigCache, ConcurrentUseGivesTheSameAnswers) {
  SigCache cache(Salt(8), 16u << 10);  // small: insertions evict while others look up
  constexpr std::uint32_t kTriples = 64;
  std::vector<Triple> valid, invalid;
  for (std::uint32_t i = 0; i < kTriples; ++i) {
    valid.push_back(Signed(static_cast<std::uint8_t>(1 + i % 4), i));
    invalid.push_back(valid.back());
    invalid.back().sig.bytes[i % 64] ^= 1;
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const SigCache::Mode mode = t % 2 ? SigCache::Mode::kRemember : SigCache::Mode::kLookupAndRetire;
      for (int round = 0; round < 3; ++round) {
        for (std::uint32_t i = 0; i < kTriples; ++i) {
          const std::uint32_t j = (i * 7 + static_cast<std::uint32_t>(t)) % kTriples;
          if (!cache.Verify(valid[j].key, valid[j].msg, valid[j].sig, mode)) ++wrong;
          if (cache.Verify(invalid[j].key, invalid[j].msg, invalid[j].sig, mode)) ++wrong;
          cache.Insert(FakeId(static_cast<std::uint64_t>(t) << 32 | (round * kTriples + i)));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.Count(), cache.Capacity());
  EXPECT_LE(cache.MemoryUsage(), 16u << 10);
  const SigCache::Stats s = cache.GetStats();
  EXPECT_EQ(s.hits + s.verifications, 4u * 3 * kTriples * 2);
  EXPECT_GT(s.hits, 0u);
}
