#include "net/netaddr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace wattline::net {
namespace {

constexpr std::array<std::uint8_t, 12> kIPv4Prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::optional<unsigned> ParseUnsigned(std::string_view s, unsigned max) {
  unsigned v = 0;
  if (s.empty() || s.size() > 5) return std::nullopt;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > max) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;  // one spelling per number
  return v;
}

}  // namespace

NetAddress NetAddress::FromIPv4(std::array<std::uint8_t, 4> ip) {
  NetAddress a;
  std::memcpy(a.m_ip.data(), kIPv4Prefix.data(), kIPv4Prefix.size());
  std::memcpy(a.m_ip.data() + 12, ip.data(), 4);
  return a;
}

NetAddress NetAddress::FromIPv6(const std::array<std::uint8_t, 16>& ip) {
  NetAddress a;
  a.m_ip = ip;
  return a;
}

std::optional<NetAddress> NetAddress::FromBytes(consensus::ByteSpan bytes) {
  if (bytes.size() == 4) return FromIPv4({bytes[0], bytes[1], bytes[2], bytes[3]});
  if (bytes.size() == 16) {
    std::array<std::uint8_t, 16> ip{};
    std::memcpy(ip.data(), bytes.data(), 16);
    return FromIPv6(ip);
  }
  return std::nullopt;
}

std::optional<NetAddress> NetAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string s(text);
  std::array<std::uint8_t, 16> buf{};
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), buf.data()) != 1) return std::nullopt;
    return FromIPv4({buf[0], buf[1], buf[2], buf[3]});
  }
  if (inet_pton(AF_INET6, s.c_str(), buf.data()) != 1) return std::nullopt;
  return FromIPv6(buf);
}

bool NetAddress::IsIPv4() const { return std::memcmp(m_ip.data(), kIPv4Prefix.data(), kIPv4Prefix.size()) == 0; }

bool NetAddress::IsUnspecified() const {
  if (IsIPv4()) return m_ip[12] == 0 && m_ip[13] == 0 && m_ip[14] == 0 && m_ip[15] == 0;
  for (auto b : m_ip) {
    if (b != 0) return false;
  }
  return true;
}

bool NetAddress::IsLoopback() const {
  if (IsIPv4()) return m_ip[12] == 127;
  for (std::size_t i = 0; i < 15; ++i) {
    if (m_ip[i] != 0) return false;
  }
  return m_ip[15] == 1;
}

bool NetAddress::IsRoutable() const {
  if (IsUnspecified() || IsLoopback()) return false;
  const auto* b = m_ip.data();
  if (IsIPv4()) {
    const auto a0 = b[12], a1 = b[13], a2 = b[14];
    if (a0 == 0 || a0 == 10 || a0 >= 224) return false;           // this network, private, multicast+
    if (a0 == 172 && (a1 & 0xf0) == 16) return false;             // 172.16/12
    if (a0 == 192 && a1 == 168) return false;                     // 192.168/16
    if (a0 == 169 && a1 == 254) return false;                     // link-local
    if (a0 == 100 && (a1 & 0xc0) == 64) return false;             // 100.64/10 shared (CGNAT)
    if (a0 == 192 && a1 == 0 && a2 == 2) return false;            // TEST-NET-1
    if (a0 == 198 && a1 == 51 && a2 == 100) return false;         // TEST-NET-2
    if (a0 == 203 && a1 == 0 && a2 == 113) return false;          // TEST-NET-3
    if (a0 == 198 && (a1 & 0xfe) == 18) return false;             // 198.18/15 benchmarking
    return true;
  }
  if (b[0] == 0xff) return false;                                 // multicast
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;        // fe80::/10 link-local
  if ((b[0] & 0xfe) == 0xfc) return false;                        // fc00::/7 unique local
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32
  return true;
}

std::string NetAddress::Group() const {
  if (IsIPv4()) return std::string{'\x04', static_cast<char>(m_ip[12]), static_cast<char>(m_ip[13])};
  std::string g{'\x06'};
  for (std::size_t i = 0; i < 4; ++i) g.push_back(static_cast<char>(m_ip[i]));
  return g;
}

consensus::Bytes NetAddress::WireBytes() const {
  if (IsIPv4()) return consensus::Bytes(m_ip.begin() + 12, m_ip.end());
  return consensus::Bytes(m_ip.begin(), m_ip.end());
}

std::string NetAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (IsIPv4()) {
    inet_ntop(AF_INET, m_ip.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, m_ip.data(), buf, sizeof(buf));
  }
  return buf;
}

std::string Service::ToString() const {
  if (addr.IsIPv4()) return addr.ToString() + ":" + std::to_string(port);
  return "[" + addr.ToString() + "]:" + std::to_string(port);
}

std::optional<Service> Service::Parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  const auto addr = NetAddress::Parse(host);
  const auto p = ParseUnsigned(port, 65535);
  if (!addr || !p || *p == 0) return std::nullopt;
  return Service{*addr, static_cast<std::uint16_t>(*p)};
}

Subnet::Subnet(const NetAddress& addr) : m_base(addr), m_prefix(128) {}

std::optional<Subnet> Subnet::Make(const NetAddress& base, unsigned prefix_len) {
  const unsigned offset = base.IsIPv4() ? 96 : 0;
  if (prefix_len > 128 - offset) return std::nullopt;
  Subnet s;
  s.m_prefix = offset + prefix_len;
  auto ip = base.bytes();
  for (unsigned bit = s.m_prefix; bit < 128; ++bit) {
    ip[bit / 8] = static_cast<std::uint8_t>(ip[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  s.m_base = NetAddress::FromIPv6(ip);
  return s;
}

std::optional<Subnet> Subnet::Parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto addr = NetAddress::Parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  if (slash == std::string_view::npos) return Subnet(*addr);
  const auto len = ParseUnsigned(text.substr(slash + 1), 128);
  if (!len) return std::nullopt;
  return Make(*addr, *len);
}

bool Subnet::Contains(const NetAddress& addr) const {
  const auto& a = addr.bytes();
  const auto& b = m_base.bytes();
  const unsigned full = m_prefix / 8;
  if (std::memcmp(a.data(), b.data(), full) != 0) return false;
  if (m_prefix % 8 == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff00u >> (m_prefix % 8));
  return (a[full] & mask) == b[full];
}

unsigned Subnet::prefix_len() const { return m_base.IsIPv4() && m_prefix >= 96 ? m_prefix - 96 : m_prefix; }

std::string Subnet::ToString() const { return m_base.ToString() + "/" + std::to_string(prefix_len()); }

}  // namespace wattline::net
