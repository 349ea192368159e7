#include "rpc/auth.h"

#include <cctype>
#include <string>

namespace wattline::rpc {

std::optional<std::string_view> BearerToken(const Metadata& metadata) {
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return std::nullopt;
  std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

grpc::Status Authorize(const Credentials& credentials, RateLimiter* limiter, std::string_view path,
                       const Metadata& metadata, Role* role_out) {
  const auto token = BearerToken(metadata);
  if (!token || token->empty()) {
    return {grpc::StatusCode::UNAUTHENTICATED, "missing credential: send 'authorization: Bearer <token>'"};
  }
  const auto role = credentials.Authenticate(*token);
  if (!role) return {grpc::StatusCode::UNAUTHENTICATED, "invalid bearer token"};
  if (!IsAllowed(*role, path)) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            "role '" + std::string(RoleName(*role)) + "' may not call " + std::string(path)};
  }
  if (limiter != nullptr && !limiter->Allow(RoleName(*role))) {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "rate limit of the '" + std::string(RoleName(*role)) + "' credential exceeded; retry later"};
  }
  if (role_out != nullptr) *role_out = *role;
  return grpc::Status::OK;
}

grpc::Status TokenAuthProcessor::Process(const InputMetadata& auth_metadata, grpc::AuthContext* /*context*/,
                                         OutputMetadata* /*consumed*/, OutputMetadata* /*response*/) {
  auto it = auth_metadata.find(":path");
  if (it == auth_metadata.end()) return {grpc::StatusCode::PERMISSION_DENIED, "request without a method path"};
  const std::string_view path(it->second.data(), it->second.size());
  // Nothing is written to the AuthContext: it is the connection's, not this call's.
  return Authorize(m_credentials, m_limiter, path, auth_metadata);
}

}  // namespace wattline::rpc
