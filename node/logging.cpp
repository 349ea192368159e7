#include "node/logging.h"

#include <algorithm>
#include <array>
#include <mutex>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace wattline::node {

namespace {
std::mutex g_mutex;
std::array<std::shared_ptr<spdlog::logger>, std::size(kCategoryNames)> g_loggers;

std::shared_ptr<spdlog::logger> MakeLogger(std::string_view name, std::vector<spdlog::sink_ptr> sinks) {
  auto logger = std::make_shared<spdlog::logger>(std::string(name), sinks.begin(), sinks.end());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  logger->flush_on(spdlog::level::warn);
  return logger;
}
}  // namespace

bool IsCategory(std::string_view name) {
  return std::find(std::begin(kCategoryNames), std::end(kCategoryNames), name) != std::end(kCategoryNames);
}

void InitLogging(const LogOptions& options) {
  std::vector<spdlog::sink_ptr> sinks;
  if (options.console) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty())
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(options.file.string(), 10u << 20, 5));
  std::lock_guard lock(g_mutex);
  for (std::size_t i = 0; i < g_loggers.size(); ++i) {
    auto logger = MakeLogger(kCategoryNames[i], sinks);
    const bool debug = std::find(options.debug.begin(), options.debug.end(), std::string(kCategoryNames[i])) !=
                           options.debug.end() ||
                       std::find(options.debug.begin(), options.debug.end(), "all") != options.debug.end();
    logger->set_level(debug ? spdlog::level::debug : options.level);
    g_loggers[i] = logger;
  }
}

std::shared_ptr<spdlog::logger> Log(Category category) {
  std::lock_guard lock(g_mutex);
  auto& slot = g_loggers[static_cast<std::size_t>(category)];
  if (!slot)
    slot = MakeLogger(kCategoryNames[static_cast<std::size_t>(category)],
                      {std::make_shared<spdlog::sinks::stderr_color_sink_mt>()});
  return slot;
}

}  // namespace wattline::node
