// The ban list: addresses and subnets, expiry, unban, bounds and persistence.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "net/banlist.h"
#include "tests/unit/net/net_test_util.h"

namespace wattline::net {
namespace {

using test::RegtestMagic;
constexpr std::int64_t kNow = 1'800'000'000;

NetAddress A(std::string_view s) { return *NetAddress::Parse(s); }
Subnet S(std::string_view s) { return *Subnet::Parse(s); }

TEST(BanListTest, AddressBanExpires) {
  BanList bans(RegtestMagic());
  bans.Ban(A("1.2.3.4"), kNow, kNow + 100, "frame-oversize");
  EXPECT_TRUE(bans.IsBanned(A("1.2.3.4"), kNow));
  EXPECT_TRUE(bans.IsBanned(A("1.2.3.4"), kNow + 99));
  EXPECT_FALSE(bans.IsBanned(A("1.2.3.4"), kNow + 100));  // lapses at ban_until
  EXPECT_FALSE(bans.IsBanned(A("1.2.3.5"), kNow));
  EXPECT_EQ(bans.List(kNow).size(), 1u);
  EXPECT_EQ(bans.List(kNow + 100).size(), 0u);
  EXPECT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans.SweepExpired(kNow + 100), 1u);
  EXPECT_EQ(bans.size(), 0u);
  bans.Ban(A("1.2.3.4"), kNow, kNow, "zero length");  // not in force: ignored
  EXPECT_EQ(bans.size(), 0u);
}

TEST(BanListTest, SubnetBans) {
  BanList bans(RegtestMagic());
  bans.Ban(S("10.1.2.0/24"), kNow, kNow + 100, "");
  bans.Ban(S("2001:db8::/32"), kNow, kNow + 100, "");
  EXPECT_TRUE(bans.IsBanned(A("10.1.2.200"), kNow));
  EXPECT_FALSE(bans.IsBanned(A("10.1.3.1"), kNow));
  EXPECT_TRUE(bans.IsBanned(A("2001:db8:ffff::1"), kNow));
  EXPECT_FALSE(bans.IsBanned(A("2001:db9::1"), kNow));
  // An IPv4 subnet never covers IPv6 addresses, and /0 of IPv4 covers all IPv4 only.
  bans.Ban(S("0.0.0.0/0"), kNow, kNow + 50, "all v4");
  EXPECT_TRUE(bans.IsBanned(A("99.99.99.99"), kNow));
  EXPECT_FALSE(bans.IsBanned(A("2a00::1"), kNow));
}

TEST(BanListTest, UnbanAndRebanKeepsTheLaterExpiry) {
  BanList bans(RegtestMagic());
  bans.Ban(A("1.2.3.4"), kNow, kNow + 1000, "first");
  bans.Ban(A("1.2.3.4"), kNow, kNow + 10, "shorter");
  ASSERT_EQ(bans.List(kNow).size(), 1u);
  EXPECT_EQ(bans.List(kNow)[0].ban_until, kNow + 1000);
  EXPECT_EQ(bans.List(kNow)[0].reason, "first");
  bans.Ban(A("1.2.3.4"), kNow, kNow + 5000, "longer");
  EXPECT_EQ(bans.List(kNow)[0].ban_until, kNow + 5000);
  EXPECT_FALSE(bans.Unban(S("1.2.3.0/24")));  // only the exact subnet
  EXPECT_TRUE(bans.Unban(S("1.2.3.4")));
  EXPECT_FALSE(bans.IsBanned(A("1.2.3.4"), kNow));
  EXPECT_FALSE(bans.Unban(S("1.2.3.4")));
}

TEST(BanListTest, ReasonIsCut) {
  BanList bans(RegtestMagic());
  bans.Ban(A("1.2.3.4"), kNow, kNow + 10, std::string(1000, 'r'));
  EXPECT_EQ(bans.List(kNow)[0].reason.size(), BanList::kMaxReason);
}

TEST(BanListTest, BoundedSoonestExpiryMakesRoom) {
  BanList bans(RegtestMagic());
  for (std::size_t i = 0; i < BanList::kMaxEntries; ++i) {
    std::array<std::uint8_t, 16> ip{0x2a, 0x01};
    for (int b = 0; b < 4; ++b) ip[static_cast<std::size_t>(12 + b)] = static_cast<std::uint8_t>(i >> (8 * b));
    bans.Ban(NetAddress::FromIPv6(ip), kNow, kNow + 1000 + static_cast<std::int64_t>(i), "");
  }
  EXPECT_EQ(bans.size(), BanList::kMaxEntries);
  bans.Ban(A("1.2.3.4"), kNow, kNow + 1'000'000, "long");
  EXPECT_EQ(bans.size(), BanList::kMaxEntries);
  EXPECT_TRUE(bans.IsBanned(A("1.2.3.4"), kNow));
  bans.Ban(A("1.2.3.5"), kNow, kNow + 1, "shortest of all: not kept");
  EXPECT_FALSE(bans.IsBanned(A("1.2.3.5"), kNow));
}

TEST(BanListTest, PersistenceDropsLapsedBans) {
  test::TempDir dir;
  const auto path = dir.path() / "banlist.dat";
  BanList bans(RegtestMagic());
  bans.Ban(A("1.2.3.4"), kNow, kNow + 100, "frame-oversize");
  bans.Ban(S("10.0.0.0/8"), kNow, kNow + 1000, "manual");
  bans.Ban(S("2001:db8::/48"), kNow, kNow + 10, "short");
  ASSERT_TRUE(bans.Save(path).ok());

  BanList loaded(RegtestMagic());
  ASSERT_TRUE(loaded.Load(path, kNow).ok());
  EXPECT_EQ(loaded.List(kNow), bans.List(kNow));
  BanList later(RegtestMagic());
  ASSERT_TRUE(later.Load(path, kNow + 50).ok());
  EXPECT_EQ(later.size(), 2u);
  EXPECT_TRUE(later.IsBanned(A("10.9.9.9"), kNow + 50));
  EXPECT_FALSE(later.IsBanned(A("2001:db8::1"), kNow + 50));
}

TEST(BanListTest, ConcurrentUseAndSaves) {
  test::TempDir dir;
  const auto path = dir.path() / "banlist.dat";
  BanList bans(RegtestMagic());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        bans.Ban(NetAddress::FromIPv4({10, static_cast<std::uint8_t>(t), static_cast<std::uint8_t>(i), 1}), kNow,
                 kNow + 100, "load");
        (void)bans.IsBanned(A("10.0.0.1"), kNow);
        if (i % 50 == 0) EXPECT_TRUE(bans.Save(path).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(bans.Save(path).ok());
  BanList loaded(RegtestMagic());
  ASSERT_TRUE(loaded.Load(path, kNow).ok());
  EXPECT_EQ(loaded.size(), 800u);
}

TEST(BanListTest, DamagedFileIsSetAsideAndTheListIsEmpty) {
  test::TempDir dir;
  const auto path = dir.path() / "banlist.dat";
  BanList bans(RegtestMagic());
  bans.Ban(A("1.2.3.4"), kNow, kNow + 100, "x");
  ASSERT_TRUE(bans.Save(path).ok());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(14);
    f.put('\x55');
  }
  BanList loaded(RegtestMagic());
  loaded.Ban(A("9.9.9.9"), kNow, kNow + 100, "before load");
  const auto st = loaded.Load(path, kNow);
  EXPECT_EQ(st.code(), ledger::Status::Code::kCorruption);
  EXPECT_NE(st.message().find("checksum"), std::string::npos) << st.message();
  EXPECT_EQ(loaded.size(), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "banlist.dat.corrupt"));
  EXPECT_TRUE(loaded.Load(path, kNow).ok());  // no file now: empty and fine
}

TEST(BanListTest, UnwritablePathIsAnIoErrorAndTheOldFileStays) {
  test::TempDir dir;
  BanList bans(RegtestMagic());
  bans.Ban(A("1.2.3.4"), kNow, kNow + 100, "x");
  EXPECT_EQ(bans.Save(dir.path() / "missing-dir" / "banlist.dat").code(), ledger::Status::Code::kIoError);
  // A save that cannot rename (the target is a directory) leaves what was there.
  std::filesystem::create_directories(dir.path() / "banlist.dat");
  EXPECT_EQ(bans.Save(dir.path() / "banlist.dat").code(), ledger::Status::Code::kIoError);
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "banlist.dat"));
}

TEST(BanListTest, AnotherNetworksFileIsRefused) {
  test::TempDir dir;
  const auto path = dir.path() / "banlist.dat";
  BanList main_bans(test::MainMagic());
  main_bans.Ban(A("1.2.3.4"), kNow, kNow + 100, "x");
  ASSERT_TRUE(main_bans.Save(path).ok());
  BanList bans(RegtestMagic());
  EXPECT_EQ(bans.Load(path, kNow).code(), ledger::Status::Code::kWrongNetwork);
  EXPECT_EQ(bans.size(), 0u);
}

TEST(NetAddrTest, ParseAndFormat) {
  EXPECT_EQ(A("1.2.3.4").ToString(), "1.2.3.4");
  EXPECT_TRUE(A("1.2.3.4").IsIPv4());
  EXPECT_EQ(A("::ffff:1.2.3.4"), A("1.2.3.4"));
  EXPECT_EQ(A("2001:DB8::1").ToString(), "2001:db8::1");
  EXPECT_FALSE(NetAddress::Parse("1.2.3").has_value());
  EXPECT_FALSE(NetAddress::Parse("1.2.3.256").has_value());
  EXPECT_FALSE(NetAddress::Parse("").has_value());
  EXPECT_FALSE(NetAddress::Parse("example.com").has_value());
  EXPECT_EQ(Service::Parse("1.2.3.4:9733")->ToString(), "1.2.3.4:9733");
  EXPECT_EQ(Service::Parse("[::1]:39733")->ToString(), "[::1]:39733");
  EXPECT_FALSE(Service::Parse("1.2.3.4:0").has_value());
  EXPECT_FALSE(Service::Parse("1.2.3.4:65536").has_value());
  EXPECT_FALSE(Service::Parse("1.2.3.4:09733").has_value());
  EXPECT_FALSE(Service::Parse("::1:9733").has_value());
  EXPECT_FALSE(Service::Parse("1.2.3.4").has_value());
  EXPECT_EQ(S("10.1.2.3/16").ToString(), "10.1.0.0/16");
  EXPECT_EQ(S("10.1.2.3").ToString(), "10.1.2.3/32");
  EXPECT_EQ(S("2001:db8:1:2::/32").ToString(), "2001:db8::/32");
  EXPECT_FALSE(Subnet::Parse("10.0.0.0/33").has_value());
  EXPECT_FALSE(Subnet::Parse("::/129").has_value());
  EXPECT_FALSE(Subnet::Parse("10.0.0.0/").has_value());
  EXPECT_TRUE(S("10.1.2.0/23").Contains(A("10.1.3.255")));
  EXPECT_FALSE(S("10.1.2.0/23").Contains(A("10.1.4.0")));
}

TEST(NetAddrTest, GroupsAndRanges) {
  EXPECT_EQ(A("1.2.3.4").Group(), A("1.2.200.9").Group());
  EXPECT_NE(A("1.2.3.4").Group(), A("1.3.3.4").Group());
  EXPECT_EQ(A("2001:db8:1::1").Group(), A("2001:db8:ffff::2").Group());
  EXPECT_NE(A("2001:db8::1").Group(), A("2001:db9::1").Group());
  EXPECT_NE(A("0.0.1.2").Group(), A("::1:2").Group());  // families never share a group
  EXPECT_TRUE(A("127.0.0.1").IsLoopback());
  EXPECT_TRUE(A("::1").IsLoopback());
  EXPECT_FALSE(A("127.0.0.1").IsRoutable());
  EXPECT_FALSE(A("192.168.1.1").IsRoutable());
  EXPECT_FALSE(A("10.0.0.1").IsRoutable());
  EXPECT_FALSE(A("fe80::1").IsRoutable());
  EXPECT_TRUE(A("8.8.8.8").IsRoutable());
  EXPECT_TRUE(A("2a00:1450::1").IsRoutable());
  EXPECT_TRUE(A("0.0.0.0").IsUnspecified());
  EXPECT_TRUE(NetAddress().IsUnspecified());
}

}  // namespace
}  // namespace wattline::net
