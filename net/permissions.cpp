#include "net/permissions.h"

#include <array>
#include <utility>

namespace wattline::net {

namespace {

constexpr std::array<std::pair<std::string_view, std::uint32_t>, 4> kNames = {{
    {"noban", kPermNoBan},
    {"relay", kPermRelay},
    {"download", kPermDownload},
    {"manual", kPermManual},
}};

}  // namespace

std::string PermissionNames(std::uint32_t flags) {
  std::string out;
  for (const auto& [name, bit] : kNames) {
    if ((flags & bit) == 0) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

std::optional<std::uint32_t> ParsePermissionPrefix(std::string_view text, std::string_view& rest, std::string& why) {
  const auto at = text.find('@');
  if (at == std::string_view::npos) {
    rest = text;
    return kPermWhitelistDefault;
  }
  rest = text.substr(at + 1);
  std::uint32_t flags = kPermNone;
  std::string_view list = text.substr(0, at);
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (name == "all") {
      flags |= kPermWhitelistDefault;
      continue;
    }
    bool known = false;
    for (const auto& [n, bit] : kNames) {
      if (n == name && bit != kPermManual) {
        flags |= bit;
        known = true;
      }
    }
    if (!known) {
      why = "unknown permission '" + std::string(name) + "' (noban, relay, download or all)";
      return std::nullopt;
    }
  }
  if (flags == kPermNone) {
    why = "no permission named before '@'";
    return std::nullopt;
  }
  return flags;
}

std::optional<WhitelistEntry> ParseWhitelist(std::string_view text, std::string& why) {
  std::string_view rest;
  auto flags = ParsePermissionPrefix(text, rest, why);
  if (!flags) return std::nullopt;
  auto subnet = Subnet::Parse(rest);
  if (!subnet) {
    why = "'" + std::string(rest) + "' is not an address or a subnet";
    return std::nullopt;
  }
  return WhitelistEntry{*subnet, *flags};
}

std::uint32_t WhitelistedPermissions(const std::vector<WhitelistEntry>& list, const NetAddress& addr) {
  std::uint32_t flags = kPermNone;
  for (const auto& e : list)
    if (e.subnet.Contains(addr)) flags |= e.flags;
  return flags;
}

}  // namespace wattline::net
