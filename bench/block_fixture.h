// A prepared regtest chain for benchmarks: a template chainstate directory holding
// kTxPerBlock mature coins locked to TestKey(1), and a full block (~0.95 MB) spending each of
// them into two outputs (1-input/2-output transactions). Built once per process, removed at exit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "consensus/block.h"

namespace wattline::bench {

inline constexpr std::int64_t kNow = 4'000'000'000;
inline constexpr std::size_t kTxPerBlock = 5000;

struct Fixture {
  std::filesystem::path root;
  std::filesystem::path templ;  //!< copy it before opening: opening writes to it
  consensus::Block block;       //!< the full block on top of the template's tip

  Fixture();
  ~Fixture();
};

Fixture& GetFixture();

}  // namespace wattline::bench
