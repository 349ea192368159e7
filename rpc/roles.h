// Roles of the gRPC API and the one table that says which role may call which method.
//
// Four bearer credentials exist (rpc/credentials.h): admin may call every method but the
// utility's write methods (UtilityService Register/Deregister/SetCoefficients/RotateKey, which
// only the utility credential may call); wallet, meter and utility only the methods the table
// lists for them. The table is keyed by the gRPC path
// "/package.Service/Method"; a method missing from it is refused to every role but admin, and
// tests/unit/rpc/roles_test.cpp fails when a method of the proto has no entry.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace wattline::rpc {

enum class Role : std::uint8_t { kAdmin = 0, kWallet = 1, kMeter = 2, kUtility = 3 };
inline constexpr std::array<Role, 4> kAllRoles{Role::kAdmin, Role::kWallet, Role::kMeter, Role::kUtility};

std::string_view RoleName(Role role);
std::optional<Role> RoleFromName(std::string_view name);

/** A set of roles as a bit mask (bit i = Role value i). */
using RoleMask = std::uint8_t;
constexpr RoleMask Mask(Role r) { return static_cast<RoleMask>(1u << static_cast<unsigned>(r)); }

struct MethodRule {
  std::string_view path;  //!< "/wattline.v1.NodeService/GetInfo"
  RoleMask allowed;       //!< the roles allowed (admin only when its bit is set)
};

/** The table (sorted by path). */
std::span<const MethodRule> MethodTable();
/** The rule for a path, or nullptr. */
const MethodRule* FindMethod(std::string_view path);
/** Whether role may call path: by the table's mask; a path not in the table: admin only. */
bool IsAllowed(Role role, std::string_view path);

/** The gRPC path of the reflection service (v1alpha: the one gRPC 1.51 serves). */
inline constexpr std::string_view kReflectionPath =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

}  // namespace wattline::rpc
