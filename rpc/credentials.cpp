#include "rpc/credentials.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "rpc/files.h"

namespace wattline::rpc {
namespace fs = std::filesystem;

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

fs::path TokenPath(const fs::path& datadir, Role role) {
  return datadir / "credentials" / (std::string(RoleName(role)) + ".token");
}

std::string NewToken() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(kTokenHexSize);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  OPENSSL_cleanse(raw, sizeof raw);
  return out;
}

namespace {
bool IsTokenText(std::string_view t) {
  if (t.size() != kTokenHexSize) return false;
  for (char c : t) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}
}  // namespace

std::optional<std::string> ReadTokenFile(const fs::path& path, std::string& error) {
  auto data = ReadSmallFile(path, 1024, error);
  if (!data) return std::nullopt;
  while (!data->empty() && (data->back() == '\n' || data->back() == '\r')) data->pop_back();
  if (!IsTokenText(*data)) {
    error = path.string() + " does not hold a token (64 hex digits)";
    return std::nullopt;
  }
  return data;
}

std::optional<Credentials> Credentials::LoadOrCreate(const fs::path& datadir, std::string& error) {
  if (!EnsurePrivateDir(datadir / "credentials", error)) return std::nullopt;
  Credentials c;
  for (Role role : kAllRoles) {
    const fs::path path = TokenPath(datadir, role);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (!WriteNewFile(path, NewToken() + "\n", 0600, error)) return std::nullopt;
    } else {
      // An existing token stays, but never readable by others.
      fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
    }
    auto token = ReadTokenFile(path, error);
    if (!token) return std::nullopt;
    c.m_tokens[static_cast<std::size_t>(role)] = std::move(*token);
  }
  return c;
}

Credentials Credentials::FromTokens(std::array<std::string, 4> tokens) {
  Credentials c;
  c.m_tokens = std::move(tokens);
  return c;
}

std::optional<Role> Credentials::Authenticate(std::string_view token) const {
  // Compare against every role (no early exit), so the time does not say which role matched.
  unsigned found = 0;
  Role role = Role::kAdmin;
  for (Role r : kAllRoles) {
    const std::string& expected = m_tokens[static_cast<std::size_t>(r)];
    const bool eq = !expected.empty() && ConstantTimeEquals(token, expected);
    found |= eq ? 1u : 0u;
    if (eq) role = r;
  }
  if (found == 0) return std::nullopt;
  return role;
}

}  // namespace wattline::rpc
