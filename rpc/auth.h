// The per-call check: who is calling (the bearer token of this call's own metadata) and
// whether that role may call this method (rpc/roles.h), plus the per-credential rate limit.
//
// Never decided from the connection's AuthContext (TOOLCHAIN.md pitfall 13: it belongs to the
// connection and outlives calls). Two places run it, both on the call's own metadata:
// - TokenAuthProcessor, the server's AuthMetadataProcessor: runs for every call, the
//   reflection service's included, before any handler, and writes nothing to the AuthContext;
// - the first line of every handler (RPC_AUTHORIZE in rpc/service_util.h), as a second,
//   independent check of the role for the handler's own method name.
#pragma once

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include <map>
#include <optional>
#include <string_view>

#include "rpc/credentials.h"
#include "rpc/rate_limit.h"
#include "rpc/roles.h"

namespace wattline::rpc {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

/** The token of `authorization: Bearer <token>` (scheme case-insensitive); nullopt if absent. */
std::optional<std::string_view> BearerToken(const Metadata& metadata);

/** OK, UNAUTHENTICATED (missing or unknown token), PERMISSION_DENIED (the role may not call
 *  path), or RESOURCE_EXHAUSTED (the limiter, when given, refused). */
grpc::Status Authorize(const Credentials& credentials, RateLimiter* limiter, std::string_view path,
                       const Metadata& metadata, Role* role_out = nullptr);

/** Runs Authorize for every call (path from the `:path` pseudo-header). */
class TokenAuthProcessor : public grpc::AuthMetadataProcessor {
 public:
  TokenAuthProcessor(const Credentials& credentials, RateLimiter* limiter)
      : m_credentials(credentials), m_limiter(limiter) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata, OutputMetadata* response_metadata) override;

 private:
  const Credentials& m_credentials;
  RateLimiter* m_limiter;
};

}  // namespace wattline::rpc
