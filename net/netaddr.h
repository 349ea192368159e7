// Network addresses: an IP address (IPv4 or IPv6), a service (address and port) and a subnet,
// with text forms and the network group the address book buckets by.
//
// An IPv4 address is held as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so that every address
// is 16 bytes and an IPv4 subnet /n is the IPv6 subnet /(96 + n). Plain values; thread-safe.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/serialize.h"

namespace wattline::net {

class NetAddress {
 public:
  NetAddress() = default;  //!< the IPv6 unspecified address ::
  static NetAddress FromIPv4(std::array<std::uint8_t, 4> ip);
  static NetAddress FromIPv6(const std::array<std::uint8_t, 16>& ip);
  /** 4 bytes (IPv4) or 16 bytes (IPv6, an IPv4-mapped one becoming IPv4); nullopt otherwise. */
  static std::optional<NetAddress> FromBytes(consensus::ByteSpan bytes);
  /** "1.2.3.4" or an IPv6 text form ("::1", "2001:db8::7"); nullopt if neither. */
  static std::optional<NetAddress> Parse(std::string_view text);

  bool IsIPv4() const;
  /** 0.0.0.0 or :: (never a peer). */
  bool IsUnspecified() const;
  /** 127/8 or ::1. */
  bool IsLoopback() const;
  /** Reachable on the public internet: not unspecified, loopback, private, link-local,
   *  documentation or multicast ranges. The address book does not require it (local testnets
   *  gossip loopback addresses); the peer manager decides per network. */
  bool IsRoutable() const;

  /**
   * The network group used for bucketing: an address family byte, then the /16 of an IPv4
   * address or the /32 of an IPv6 address. Addresses in one group are assumed to be under one
   * operator's control.
   */
  std::string Group() const;

  /** 4 bytes for IPv4, else 16: the form sent in AddrEntry::ip. */
  consensus::Bytes WireBytes() const;
  const std::array<std::uint8_t, 16>& bytes() const { return m_ip; }
  std::string ToString() const;

  friend auto operator<=>(const NetAddress&, const NetAddress&) = default;
  friend bool operator==(const NetAddress&, const NetAddress&) = default;

 private:
  std::array<std::uint8_t, 16> m_ip{};
};

/** An address and a TCP port. */
struct Service {
  NetAddress addr;
  std::uint16_t port = 0;

  /** "1.2.3.4:9733" or "[::1]:9733". */
  std::string ToString() const;
  /** Parses the forms ToString writes; nullopt otherwise (a port of 0 included). */
  static std::optional<Service> Parse(std::string_view text);

  friend auto operator<=>(const Service&, const Service&) = default;
  friend bool operator==(const Service&, const Service&) = default;
};

/** A range of addresses: base with all bits past prefix_len (of 128) cleared. */
class Subnet {
 public:
  Subnet() = default;
  /** The single address (a /32 for IPv4, a /128 for IPv6). */
  explicit Subnet(const NetAddress& addr);
  /** prefix_len counts bits of the address's own family: at most 32 for IPv4, 128 for IPv6. */
  static std::optional<Subnet> Make(const NetAddress& base, unsigned prefix_len);
  /** "1.2.3.0/24", "2001:db8::/32", or a single address. */
  static std::optional<Subnet> Parse(std::string_view text);

  bool Contains(const NetAddress& addr) const;
  const NetAddress& base() const { return m_base; }
  /** In the address's own family (0..32 for IPv4). */
  unsigned prefix_len() const;
  /** In bits of the 16-byte form (96..128 for IPv4). */
  unsigned prefix_len_128() const { return m_prefix; }
  std::string ToString() const;

  friend auto operator<=>(const Subnet&, const Subnet&) = default;
  friend bool operator==(const Subnet&, const Subnet&) = default;

 private:
  NetAddress m_base;
  unsigned m_prefix = 128;
};

}  // namespace wattline::net
