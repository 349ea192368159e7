// Credentials, the per-call auth decision, the rate limiter, and the TLS identity files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "rpc/auth.h"
#include "rpc/credentials.h"
#include "rpc/files.h"
#include "rpc/rate_limit.h"
#include "rpc/tls.h"
#include "tests/unit/rpc/temp_dir.h"

namespace wattline::rpc {
namespace {
namespace fs = std::filesystem;

unsigned Mode(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777u;
}

TEST(Credentials, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(Credentials, CreatedOnceOwnerOnlyAndReloaded) {
  TempDir dir;
  std::string error;
  auto a = Credentials::LoadOrCreate(dir.path(), error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(Mode(dir.path() / "credentials"), 0700u);
  for (Role r : kAllRoles) {
    EXPECT_EQ(Mode(TokenPath(dir.path(), r)), 0600u);
    EXPECT_EQ(a->Token(r).size(), kTokenHexSize);
    EXPECT_EQ(a->Authenticate(a->Token(r)), r);
  }
  EXPECT_NE(a->Token(Role::kAdmin), a->Token(Role::kWallet));
  auto b = Credentials::LoadOrCreate(dir.path(), error);
  ASSERT_TRUE(b) << error;
  for (Role r : kAllRoles) EXPECT_EQ(a->Token(r), b->Token(r));
}

TEST(Credentials, CorruptTokenFileIsAnError) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(Credentials::LoadOrCreate(dir.path(), error));
  fs::permissions(TokenPath(dir.path(), Role::kMeter), fs::perms::owner_all);
  std::ofstream(TokenPath(dir.path(), Role::kMeter), std::ios::trunc) << "short\n";
  EXPECT_FALSE(Credentials::LoadOrCreate(dir.path(), error));
  EXPECT_NE(error.find("meter.token"), std::string::npos) << error;
}

Credentials Fixed() {
  return Credentials::FromTokens({std::string(64, 'a'), std::string(64, 'b'), std::string(64, 'c'), std::string(64, 'd')});
}

grpc::Status Call(const Credentials& c, std::string_view path, const char* header, RateLimiter* limiter = nullptr) {
  Metadata md;
  if (header != nullptr) md.emplace("authorization", header);
  return Authorize(c, limiter, path, md);
}

TEST(Auth, MissingWrongOtherRoleAndRight) {
  const Credentials c = Fixed();
  const std::string admin = "Bearer " + std::string(64, 'a');
  const std::string meter = "Bearer " + std::string(64, 'c');
  const char* send = "/wattline.v1.WalletService/Send";
  EXPECT_EQ(Call(c, send, nullptr).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(c, send, "Bearer ").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(c, send, "Basic abc").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(c, send, ("Bearer " + std::string(64, 'e')).c_str()).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(c, send, ("Bearer " + std::string(63, 'a')).c_str()).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(c, send, meter.c_str()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Call(c, send, admin.c_str()).ok());
  EXPECT_TRUE(Call(c, send, ("bearer " + std::string(64, 'b')).c_str()).ok());  // wallet, scheme any case
  EXPECT_TRUE(Call(c, "/wattline.v1.NodeService/GetInfo", meter.c_str()).ok());
}

TEST(Auth, EmptyTokenOfAnUnsetRoleNeverMatches) {
  const Credentials c = Credentials::FromTokens({std::string(64, 'a'), "", "", ""});
  EXPECT_FALSE(c.Authenticate("").has_value());
  EXPECT_EQ(c.Authenticate(std::string(64, 'a')), Role::kAdmin);
}

TEST(RateLimit, BucketRefillsAndIsPerCredential) {
  RateLimiter limiter(10, 3);
  const auto t0 = RateLimiter::Clock::now();
  EXPECT_TRUE(limiter.Allow("admin", t0));
  EXPECT_TRUE(limiter.Allow("admin", t0));
  EXPECT_TRUE(limiter.Allow("admin", t0));
  EXPECT_FALSE(limiter.Allow("admin", t0));
  EXPECT_TRUE(limiter.Allow("meter", t0));  // another credential's bucket
  EXPECT_TRUE(limiter.Allow("admin", t0 + std::chrono::milliseconds(100)));
  EXPECT_FALSE(limiter.Allow("admin", t0 + std::chrono::milliseconds(100)));
  const Credentials c = Fixed();
  RateLimiter tight(1, 1);
  const std::string admin = "Bearer " + std::string(64, 'a');
  EXPECT_TRUE(Call(c, "/wattline.v1.NodeService/GetInfo", admin.c_str(), &tight).ok());
  EXPECT_EQ(Call(c, "/wattline.v1.NodeService/GetInfo", admin.c_str(), &tight).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(Files, WriteNewFileIsWholeAndNeverReplaces) {
  TempDir dir;
  std::string error;
  const fs::path p = dir.path() / "secret";
  ASSERT_TRUE(WriteNewFile(p, "one", 0600, error)) << error;
  EXPECT_EQ(Mode(p), 0600u);
  EXPECT_FALSE(WriteNewFile(p, "two", 0600, error));
  EXPECT_EQ(ReadSmallFile(p, 100, error), "one");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // no temp left
}

TEST(Tls, EmptyFolderAndStaleStagingAreFine) {
  TempDir dir;
  std::string error;
  fs::create_directories(dir.path() / "tls");
  fs::create_directories(dir.path() / "tls.new");
  std::ofstream(dir.path() / "tls.new" / "key.pem") << "stale";
  auto id = LoadOrCreateTls(dir.path(), error);
  ASSERT_TRUE(id) << error;
  EXPECT_TRUE(id->created);
  EXPECT_FALSE(fs::exists(dir.path() / "tls.new"));
  EXPECT_TRUE(LoadOrCreateTls(dir.path(), error)) << error;
}

TEST(Tls, GeneratedOnceOwnerOnlyWithSan) {
  TempDir dir;
  std::string error;
  auto first = LoadOrCreateTls(dir.path(), error);
  ASSERT_TRUE(first) << error;
  EXPECT_TRUE(first->created);
  EXPECT_EQ(Mode(TlsKeyPath(dir.path())), 0600u);
  EXPECT_EQ(Mode(TlsCertPath(dir.path())), 0600u);
  EXPECT_EQ(Mode(dir.path() / "tls"), 0700u);
  const auto san = CertificateSubjectAltNames(first->cert_pem);
  ASSERT_TRUE(san);
  EXPECT_NE(san->find("IP:127.0.0.1"), std::string::npos) << *san;
  EXPECT_NE(san->find("DNS:localhost"), std::string::npos) << *san;
  EXPECT_NE(first->key_pem.find("PRIVATE KEY"), std::string::npos);

  auto second = LoadOrCreateTls(dir.path(), error);
  ASSERT_TRUE(second) << error;
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->cert_pem, first->cert_pem);
  EXPECT_EQ(second->key_pem, first->key_pem);
}

TEST(Tls, HalfAnIdentityIsRefusedAndNotReplaced) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(LoadOrCreateTls(dir.path(), error));
  fs::remove(TlsCertPath(dir.path()));
  EXPECT_FALSE(LoadOrCreateTls(dir.path(), error));
  EXPECT_NE(error.find("cert.pem"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(TlsCertPath(dir.path())));
}

TEST(Tls, MismatchedKeyIsRefused) {
  TempDir a, b;
  std::string error;
  ASSERT_TRUE(LoadOrCreateTls(a.path(), error));
  ASSERT_TRUE(LoadOrCreateTls(b.path(), error));
  fs::remove(TlsKeyPath(a.path()));
  fs::copy_file(TlsKeyPath(b.path()), TlsKeyPath(a.path()));
  EXPECT_FALSE(LoadOrCreateTls(a.path(), error));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
}

}  // namespace
}  // namespace wattline::rpc
