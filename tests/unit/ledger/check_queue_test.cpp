#include "ledger/check_queue.h"

#include <gtest/gtest.h>

#include "tests/util/chain_builder.h"

using namespace wattline;

namespace {
std::vector<consensus::SigCheck> MakeChecks(std::size_t n) {
  auto key = test::TestKey(4);
  std::vector<consensus::SigCheck> checks;
  for (std::size_t i = 0; i < n; ++i) {
    crypto::Hash256 msg;
    msg.bytes[0] = static_cast<std::uint8_t>(i);
    msg.bytes[1] = static_cast<std::uint8_t>(i >> 8);
    checks.push_back({key.PubKey(), msg, key.Sign(msg, crypto::Hash256{})});
  }
  return checks;
}
}  // namespace

TEST(CheckQueue, AllValidPassOnEveryWorkerCount) {
  auto checks = MakeChecks(100);
  for (unsigned workers : {0u, 1u, 3u}) {
    ledger::CheckQueue queue(workers);
    EXPECT_EQ(queue.workers(), workers);
    for (int round = 0; round < 5; ++round) EXPECT_FALSE(queue.RunAll(checks));
    EXPECT_FALSE(queue.RunAll({}));
  }
}

TEST(CheckQueue, FindsTheBadCheckAnywhere) {
  auto checks = MakeChecks(64);
  ledger::CheckQueue queue(2);
  for (std::size_t bad : {std::size_t{0}, std::size_t{31}, std::size_t{63}}) {
    auto copy = checks;
    copy[bad].sig.bytes[5] ^= 1;
    auto found = queue.RunAll(copy);
    ASSERT_TRUE(found);
    EXPECT_EQ(*found, bad);
  }
  EXPECT_FALSE(queue.RunAll(checks));  // reusable after a failure
}
