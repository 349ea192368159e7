// Per-role bearer credentials of the gRPC API.
//
// One token per role (admin, wallet, meter, utility): 32 random bytes as 64 lowercase hex
// digits, in `<datadir>/credentials/<role>.token` (mode 0600, folder 0700), created on first
// start and read back afterwards. A client sends `authorization: Bearer <token>`. Tokens are
// compared in constant time, against every role's token, whatever the input.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "rpc/roles.h"

namespace wattline::rpc {

inline constexpr std::size_t kTokenHexSize = 64;

/** Equal length and bytes, in time that depends only on the lengths. */
bool ConstantTimeEquals(std::string_view a, std::string_view b);

/** The token file of a role: `<datadir>/credentials/<role>.token`. */
std::filesystem::path TokenPath(const std::filesystem::path& datadir, Role role);

/** A new random token (64 hex digits). */
std::string NewToken();

/** Reads a token file; strips one trailing newline; checks it is 64 hex digits. */
std::optional<std::string> ReadTokenFile(const std::filesystem::path& path, std::string& error);

class Credentials {
 public:
  /** Reads the four token files, creating those that are missing. */
  static std::optional<Credentials> LoadOrCreate(const std::filesystem::path& datadir, std::string& error);
  /** From given tokens (tests). */
  static Credentials FromTokens(std::array<std::string, 4> tokens);

  /** The role whose token this is; every role's token is compared, in constant time. */
  std::optional<Role> Authenticate(std::string_view token) const;
  const std::string& Token(Role role) const { return m_tokens[static_cast<std::size_t>(role)]; }

 private:
  std::array<std::string, 4> m_tokens;
};

}  // namespace wattline::rpc
