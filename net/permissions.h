// Peer permissions (docs/p2p.md, "Peer permissions"): what an operator grants the peers it
// trusts, as Bitcoin Core's -whitelist and -whitebind do.
//
//   noban     misbehaviour is logged and scored, never punished: no disconnect, no ban
//   relay     no limit on the inv and addr announcements it sends (inv-flood, addr-flood)
//   download  no limit on what it asks for (getdata-flood)
//   manual    a peer the operator named (--connect, --addnode, addpeer): never punished either
//
// `--whitelist=[perms@]ADDR|SUBNET` grants perms to inbound peers from those addresses;
// `--whitebind=[perms@]ADDR:PORT` to every peer that connects to that listener. perms is a
// comma-separated list of the names above (without manual) or "all"; without "perms@" a
// whitelisted peer gets noban, relay and download.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/netaddr.h"

namespace wattline::net {

enum Permission : std::uint32_t {
  kPermNone = 0,
  kPermNoBan = 1u << 0,
  kPermRelay = 1u << 1,
  kPermDownload = 1u << 2,
  kPermManual = 1u << 3,
  kPermWhitelistDefault = kPermNoBan | kPermRelay | kPermDownload,
};

/** "noban,relay" and so on; "" for none. */
std::string PermissionNames(std::uint32_t flags);
/** True when a misbehaving peer with these permissions keeps its connection and its address. */
inline bool IsUnpunishable(std::uint32_t flags) { return (flags & (kPermNoBan | kPermManual)) != 0; }

struct WhitelistEntry {
  Subnet subnet;
  std::uint32_t flags = kPermWhitelistDefault;
};

/** Parses "perms@" off the front of text; the rest goes to `rest`. nullopt (with why) for an unknown name. */
std::optional<std::uint32_t> ParsePermissionPrefix(std::string_view text, std::string_view& rest, std::string& why);
/** `--whitelist` value: [perms@]ADDR|SUBNET. */
std::optional<WhitelistEntry> ParseWhitelist(std::string_view text, std::string& why);

/** The union of the permissions of every entry covering addr. */
std::uint32_t WhitelistedPermissions(const std::vector<WhitelistEntry>& list, const NetAddress& addr);

}  // namespace wattline::net
