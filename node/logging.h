// Logging: named spdlog loggers per category, one sink set shared by all (console and a
// rotating file in the datadir), levels per category (`--loglevel`, `--debug=cat,cat`).
// Consensus and ledger code does not log: it returns reasons; the node logs them.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

namespace wattline::node {

enum class Category { kNode, kValidation, kChainstate, kMempool, kMining, kWallet, kRpc, kNet, kDb };

inline constexpr std::string_view kCategoryNames[] = {"node", "validation", "chainstate", "mempool", "mining",
                                                      "wallet", "rpc", "net", "db"};

struct LogOptions {
  /** Rotating file (10 MiB x 5); empty: no file. */
  std::filesystem::path file;
  bool console = true;
  spdlog::level::level_enum level = spdlog::level::info;
  /** Categories logged at debug level regardless of `level`. "all" for every one. */
  std::vector<std::string> debug;
};

/** Sets the sinks and levels; safe to call again (tests). Throws spdlog_ex on a bad file. */
void InitLogging(const LogOptions& options);
/** The logger of a category (a default console logger before InitLogging). */
std::shared_ptr<spdlog::logger> Log(Category category);
/** nullopt-like: false when name is not a category. */
bool IsCategory(std::string_view name);

}  // namespace wattline::node
