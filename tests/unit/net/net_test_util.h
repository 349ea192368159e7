// Helpers for the net unit tests: a temporary directory, the regtest magic, a printed seed.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "consensus/params.h"
#include "net/frame.h"
#include "tests/util/temp_dir.h"

namespace wattline::net::test {

inline const Magic& RegtestMagic() { return consensus::GetParams(consensus::Network::kRegtest).magic; }
inline const Magic& MainMagic() { return consensus::GetParams(consensus::Network::kMain).magic; }

using wattline::test::TempDir;

/** A seed from WATTLINE_TEST_SEED or random, printed so a failure can be replayed. */
inline std::uint64_t TestSeed() {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("WATTLINE_TEST_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::printf("WATTLINE_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace wattline::net::test
