// Reading, writing and generating scenarios.
//
// JSON form (all keys but "prosumers" optional; slots are 0-based, windows inclusive):
//   { "slots": 24, "price": {"a": 1, "b": 1, "c": 1},
//     "prosumers": [ { "name": "p0", "appliances": [
//         { "name": "dishwasher", "energy": 624, "first": 6, "last": 12, "cap": 200 } ] } ] }
//   "cap" may be absent or null (no cap).
// CSV form: optional lines "# slots=24", "# a=1", "# b=1", "# c=1" (any order, before the
// data), then a header line and one row per appliance:
//   prosumer,appliance,energy,first,last,cap
//   p0,dishwasher,624,6,12,
// Rows with the same prosumer name that follow each other belong to one prosumer; an empty
// cap means no cap. There is no quoting: names must not contain commas.
//
// Parsing reports syntax and type problems (with line or JSON path); the values themselves are
// checked by ValidateScenario (model.h), so a parsed scenario may still be invalid.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "meter/model.h"
#include "meter/solver.h"

namespace wattline::meter {

Result<Scenario> ParseScenarioJson(std::string_view text);
Result<Scenario> ParseScenarioCsv(std::string_view text);
/** By extension: ".csv" -> CSV, anything else -> JSON. Errors name the file. */
Result<Scenario> LoadScenarioFile(const std::string& path);

std::string ScenarioToJson(const Scenario& scenario);
std::string ScenarioToCsv(const Scenario& scenario);

/** One row of the paper's appliance table (Table 5.1), windows as printed (0-based here). */
struct PaperAppliance {
  double energy;
  int first;
  int last;
};
/** 624 kWh in 6-12, 357 in 7-12, 591 in 7-18, 209 in 12-20, 970 in 8-12. */
inline constexpr PaperAppliance kPaperTable[5] = {{624, 6, 12}, {357, 7, 12}, {591, 7, 18}, {209, 12, 20}, {970, 8, 12}};

/**
 * The paper's experiment: `prosumers` prosumers, each with the five appliances of kPaperTable,
 * 24 slots, a = b = c = 1, no caps.
 *
 * With randomise = false every prosumer has the table exactly. With randomise = true each
 * appliance of each prosumer is drawn independently (the paper only says "generated
 * randomly"; this is our rule):
 *   energy = E_n * (0.5 + U),      U uniform in [0, 1)          (so 50%..150% of the table)
 *   first  = first_n + D1,  last = last_n + D2,   D1, D2 uniform integers in {-2, ..., +2}
 *   then both are clamped to 0..23, and swapped if first > last.
 * The random numbers come from SplitMix64 seeded with seed XOR (prosumer index * 2^64/phi), in
 * the order U, D1, D2 per appliance: the same on every platform and for every thread count.
 *
 * capped_every > 0 additionally gives every capped_every-th appliance (global index) a cap of
 * ceil(1.5 * energy / window / 25) * 25 kWh per slot: capped classes with shared caps, used
 * by the benchmarks. 0 = no caps (the paper).
 */
struct PaperScenarioOptions {
  std::size_t prosumers{100};
  bool randomise{true};
  std::uint64_t seed{2021};
  std::size_t capped_every{0};
  bool names{true};  //!< name prosumers "p<i>" and appliances "a<n>"
};
Scenario GeneratePaperScenario(const PaperScenarioOptions& options);

/** SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, identical everywhere. */
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : m_state(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /** Uniform in [0, 1) with 53 random bits. */
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  /** Uniform integer in [lo, hi], hi - lo < 2^31 (multiply-shift on 32 bits; bias < 2^-31 * span). */
  int Between(int lo, int hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo + 1);
    return lo + static_cast<int>(((Next() >> 32) * span) >> 32);
  }

 private:
  std::uint64_t m_state;
};

}  // namespace wattline::meter
