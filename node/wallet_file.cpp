#include "node/wallet_file.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "consensus/serialize.h"
#include "crypto/hash.h"

namespace wattline::node::wallet_file {
namespace {

constexpr std::size_t kChecksumSize = 32;

struct KdfDeleter {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

std::string ErrnoText(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

bool WriteAll(int fd, std::span<const std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool SyncDir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::vector<std::uint8_t> AssociatedData(const Contents& c) {
  consensus::Bytes out;
  consensus::Writer w(out);
  w.Raw(kMagic);
  w.U16(kFormatVersion);
  w.U8(static_cast<std::uint8_t>(c.network));
  w.U8(kKdfScrypt);
  w.U8(c.scrypt.log2_n);
  w.U32(c.scrypt.r);
  w.U32(c.scrypt.p);
  w.Raw(c.salt);
  w.Raw(c.nonce);
  w.U32(static_cast<std::uint32_t>(c.keys.size()));
  for (const auto& k : c.keys) w.Raw(k.bytes);
  return out;
}

std::vector<std::uint8_t> Serialize(const Contents& c) {
  std::vector<std::uint8_t> out = AssociatedData(c);
  out.insert(out.end(), c.encrypted_seed.begin(), c.encrypted_seed.end());
  out.insert(out.end(), c.tag.begin(), c.tag.end());
  const crypto::Hash256 sum = crypto::Sha256Of(out);
  out.insert(out.end(), sum.bytes.begin(), sum.bytes.end());
  return out;
}

std::optional<Contents> Parse(std::span<const std::uint8_t> bytes, std::string& error) {
  if (bytes.empty()) {
    error = "the file is empty";
    return std::nullopt;
  }
  if (bytes.size() < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    error = "not a wattline wallet file (bad magic)";
    return std::nullopt;
  }
  const std::size_t min_size = kHeaderSize + 32 + kTrailerSize;
  if (bytes.size() < min_size) {
    error = "truncated: " + std::to_string(bytes.size()) + " bytes, a wallet file has at least " +
            std::to_string(min_size);
    return std::nullopt;
  }
  consensus::Reader r(bytes);
  std::array<std::uint8_t, 8> magic{};
  std::uint16_t version = 0;
  (void)r.Raw(magic);
  (void)r.U16(version);
  if (version != kFormatVersion) {
    error = "unsupported format version " + std::to_string(version) + " (this build reads version " +
            std::to_string(kFormatVersion) + ")";
    return std::nullopt;
  }
  // The checksum first: any damaged byte is reported as damage, never as a wrong passphrase.
  const auto body = bytes.first(bytes.size() - kChecksumSize);
  const crypto::Hash256 sum = crypto::Sha256Of(body);
  if (!std::equal(sum.bytes.begin(), sum.bytes.end(), bytes.end() - static_cast<std::ptrdiff_t>(kChecksumSize))) {
    error = "checksum mismatch: the file is damaged or truncated";
    return std::nullopt;
  }
  Contents c;
  std::uint8_t network = 0;
  std::uint8_t kdf = 0;
  std::uint32_t count = 0;
  (void)r.U8(network);
  (void)r.U8(kdf);
  (void)r.U8(c.scrypt.log2_n);
  (void)r.U32(c.scrypt.r);
  (void)r.U32(c.scrypt.p);
  (void)r.Raw(c.salt);
  (void)r.Raw(c.nonce);
  (void)r.U32(count);
  if (!r.ok()) {
    error = "truncated header";
    return std::nullopt;
  }
  if (network > static_cast<std::uint8_t>(consensus::Network::kRegtest)) {
    error = "unknown network " + std::to_string(network);
    return std::nullopt;
  }
  c.network = static_cast<consensus::Network>(network);
  if (kdf != kKdfScrypt) {
    error = "unknown key derivation function " + std::to_string(kdf);
    return std::nullopt;
  }
  std::string why;
  if (!ScryptParamsValid(c.scrypt, &why)) {
    error = why;
    return std::nullopt;
  }
  if (count == 0 || count > kMaxKeys) {
    error = "bad key count " + std::to_string(count);
    return std::nullopt;
  }
  const std::size_t expected = kHeaderSize + 32 * static_cast<std::size_t>(count) + kTrailerSize;
  if (bytes.size() != expected) {
    error = "size " + std::to_string(bytes.size()) + " bytes does not match its " + std::to_string(count) +
            " keys (expected " + std::to_string(expected) + ")";
    return std::nullopt;
  }
  c.keys.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    (void)r.Raw(c.keys[i].bytes);
    if (!c.keys[i].IsValid()) {
      error = "public key " + std::to_string(i) + " is not a valid key";
      return std::nullopt;
    }
  }
  (void)r.Raw(c.encrypted_seed);
  (void)r.Raw(c.tag);
  if (!r.ok()) {
    error = "truncated";
    return std::nullopt;
  }
  return c;
}

bool ScryptParamsValid(const ScryptParams& p, std::string* error) {
  auto fail = [&](const std::string& m) {
    if (error) *error = "scrypt parameters out of range: " + m;
    return false;
  };
  if (p.log2_n < 1 || p.log2_n > 24) return fail("log2(N) = " + std::to_string(p.log2_n));
  if (p.r < 1 || p.r > 64) return fail("r = " + std::to_string(p.r));
  if (p.p < 1 || p.p > 16) return fail("p = " + std::to_string(p.p));
  const std::uint64_t mem = 128ull * p.r * (1ull << p.log2_n);
  if (mem > kMaxScryptMemory) return fail("needs " + std::to_string(mem >> 20) + " MiB");
  return true;
}

bool DeriveKey(const std::string& passphrase, const ScryptParams& params, std::span<const std::uint8_t> salt,
               Secret32& key, std::string& error) {
  if (!ScryptParamsValid(params, &error)) return false;
  std::unique_ptr<EVP_KDF, KdfDeleter> kdf{EVP_KDF_fetch(nullptr, "SCRYPT", nullptr)};
  if (!kdf) {
    error = "OpenSSL has no SCRYPT KDF";
    return false;
  }
  std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx{EVP_KDF_CTX_new(kdf.get())};
  if (!ctx) {
    error = "EVP_KDF_CTX_new failed";
    return false;
  }
  std::uint64_t n = 1ull << params.log2_n;
  std::uint32_t r = params.r;
  std::uint32_t p = params.p;
  // OpenSSL's own bound must let the parameters we accept through (plus a margin).
  std::uint64_t maxmem = kMaxScryptMemory + (16u << 20);
  static char empty[1] = {0};
  char* pass = passphrase.empty() ? empty : const_cast<char*>(passphrase.data());
  std::array<std::uint8_t, 16> salt_copy{};
  std::copy_n(salt.begin(), std::min(salt.size(), salt_copy.size()), salt_copy.begin());
  OSSL_PARAM ps[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pass, passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_copy.data(), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), key.data(), key.size(), ps) != 1) {
    error = "scrypt key derivation failed (out of memory?)";
    return false;
  }
  return true;
}

bool EncryptSeed(const Secret32& key, const Secret32& seed, Contents& c, std::string& error) {
  std::unique_ptr<EVP_CIPHER, KdfDeleter> cipher{EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)};
  std::unique_ptr<EVP_CIPHER_CTX, KdfDeleter> ctx{EVP_CIPHER_CTX_new()};
  const auto aad = AssociatedData(c);
  int len = 0;
  bool ok = cipher && ctx && EVP_EncryptInit_ex2(ctx.get(), cipher.get(), key.data(), c.nonce.data(), nullptr) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), c.encrypted_seed.data(), &len, seed.data(), static_cast<int>(seed.size())) ==
                1 &&
            len == static_cast<int>(seed.size()) &&
            EVP_EncryptFinal_ex(ctx.get(), c.encrypted_seed.data() + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(c.tag.size()), c.tag.data()) == 1;
  if (!ok) error = "AES-256-GCM encryption failed";
  return ok;
}

bool DecryptSeed(const Secret32& key, const Contents& c, Secret32& seed) {
  std::unique_ptr<EVP_CIPHER, KdfDeleter> cipher{EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)};
  std::unique_ptr<EVP_CIPHER_CTX, KdfDeleter> ctx{EVP_CIPHER_CTX_new()};
  const auto aad = AssociatedData(c);
  std::array<std::uint8_t, 16> tag = c.tag;
  Secret32 plain{};
  int len = 0;
  const bool ok =
      cipher && ctx && EVP_DecryptInit_ex2(ctx.get(), cipher.get(), key.data(), c.nonce.data(), nullptr) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &len, c.encrypted_seed.data(),
                        static_cast<int>(c.encrypted_seed.size())) == 1 &&
      len == static_cast<int>(plain.size()) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()), tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &len) == 1;
  if (ok) seed = plain;
  OPENSSL_cleanse(plain.data(), plain.size());
  return ok;
}

IoError ReadFile(const std::filesystem::path& path, std::size_t max_bytes, std::vector<std::uint8_t>& out,
                 std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const bool missing = errno == ENOENT;
    error = ErrnoText("cannot open", path);
    return missing ? IoError::kNotFound : IoError::kIo;
  }
  out.clear();
  std::array<std::uint8_t, 65536> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      error = ErrnoText("cannot read", path);
      ::close(fd);
      return IoError::kIo;
    }
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
    if (out.size() > max_bytes) {
      ::close(fd);
      error = path.string() + " is larger than " + std::to_string(max_bytes) + " bytes";
      return IoError::kTooLarge;
    }
  }
  ::close(fd);
  return IoError::kNone;
}

IoError WriteFileAtomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes, bool no_clobber,
                        std::string& error) {
  std::filesystem::path tmp = path;
  tmp += ".new";
  ::unlink(tmp.c_str());  // a leftover of an interrupted write holds nothing we need
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) {
    error = ErrnoText("cannot create", tmp);
    return IoError::kIo;
  }
  // The mode given to open() is masked by the umask; set it exactly.
  if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0 || !WriteAll(fd, bytes) || ::fsync(fd) != 0) {
    error = ErrnoText("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return IoError::kIo;
  }
  if (::close(fd) != 0) {
    error = ErrnoText("cannot close", tmp);
    ::unlink(tmp.c_str());
    return IoError::kIo;
  }
  if (no_clobber) {
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      const bool exists = errno == EEXIST;
      error = exists ? path.string() + " already exists" : ErrnoText("cannot link", path);
      ::unlink(tmp.c_str());
      return exists ? IoError::kExists : IoError::kIo;
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = ErrnoText("cannot rename into", path);
    ::unlink(tmp.c_str());
    return IoError::kIo;
  }
  if (!SyncDir(path.parent_path())) {
    error = ErrnoText("cannot sync the directory of", path);
    return IoError::kIo;
  }
  return IoError::kNone;
}

}  // namespace wattline::node::wallet_file
