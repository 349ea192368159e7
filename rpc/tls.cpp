#include "rpc/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "rpc/files.h"

namespace wattline::rpc {
namespace fs = std::filesystem;
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

std::string BioString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

bool AddExt(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PKeyPtr ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return PKeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

fs::path TlsCertPath(const fs::path& datadir) { return datadir / "tls" / "cert.pem"; }
fs::path TlsKeyPath(const fs::path& datadir) { return datadir / "tls" / "key.pem"; }

std::optional<TlsIdentity> MakeSelfSignedIdentity(std::string& error) {
  PKeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!key || !cert) {
    error = "cannot generate a P-256 key";
    return std::nullopt;
  }
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    error = "RAND_bytes failed";
    return std::nullopt;
  }
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  bool ok = bn && X509_set_version(cert.get(), 2) == 1 &&
            BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) != nullptr &&
            X509_set_pubkey(cert.get(), key.get()) == 1;
  X509_NAME* name = X509_get_subject_name(cert.get());
  ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>("wattline"), -1, -1, 0) == 1;
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0) == 1;
  ok = ok && X509_set_issuer_name(cert.get(), name) == 1;
  ok = ok && AddExt(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  ok = ok && AddExt(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  ok = ok && AddExt(cert.get(), NID_ext_key_usage, "serverAuth");
  ok = ok && AddExt(cert.get(), NID_subject_key_identifier, "hash");
  ok = ok && AddExt(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  ok = ok && X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) {
    error = "cannot build the self-signed certificate";
    return std::nullopt;
  }
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    error = "cannot encode the certificate or key as PEM";
    return std::nullopt;
  }
  TlsIdentity id;
  id.cert_pem = BioString(cert_bio.get());
  id.key_pem = BioString(key_bio.get());
  id.created = true;
  return id;
}

std::optional<TlsIdentity> LoadOrCreateTls(const fs::path& datadir, std::string& error) {
  const fs::path cert_path = TlsCertPath(datadir);
  const fs::path key_path = TlsKeyPath(datadir);
  std::error_code ec;
  const bool have_cert = fs::exists(cert_path, ec);
  const bool have_key = fs::exists(key_path, ec);
  if (!have_cert && !have_key) {
    // Both files are made in a fresh folder that is then renamed into place, so a crash never
    // leaves half an identity behind (rename replaces an empty `tls/`, never a full one).
    const fs::path dir = cert_path.parent_path();
    const fs::path staging = dir.string() + ".new";
    fs::remove_all(staging, ec);
    if (!EnsurePrivateDir(staging, error)) return std::nullopt;
    auto id = MakeSelfSignedIdentity(error);
    if (!id) return std::nullopt;
    if (!WriteNewFile(staging / key_path.filename(), id->key_pem, 0600, error)) return std::nullopt;
    if (!WriteNewFile(staging / cert_path.filename(), id->cert_pem, 0600, error)) return std::nullopt;
    fs::rename(staging, dir, ec);
    if (ec) {
      error = "cannot move " + staging.string() + " to " + dir.string() + ": " + ec.message();
      return std::nullopt;
    }
    SyncDirectory(dir.parent_path());
    return id;
  }
  if (!have_cert || !have_key) {
    error = "incomplete TLS identity in " + cert_path.parent_path().string() + ": " +
            (have_cert ? key_path : cert_path).string() + " is missing (remove the folder to make a new one)";
    return std::nullopt;
  }
  fs::permissions(key_path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
  TlsIdentity id;
  auto cert_pem = ReadSmallFile(cert_path, 64 * 1024, error);
  if (!cert_pem) return std::nullopt;
  auto key_pem = ReadSmallFile(key_path, 64 * 1024, error);
  if (!key_pem) return std::nullopt;
  X509Ptr cert = ParseCert(*cert_pem);
  PKeyPtr key = ParseKey(*key_pem);
  if (!cert) {
    error = cert_path.string() + " is not a PEM certificate";
    return std::nullopt;
  }
  if (!key) {
    error = key_path.string() + " is not a PEM private key";
    return std::nullopt;
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    error = key_path.string() + " does not match " + cert_path.string();
    return std::nullopt;
  }
  id.cert_pem = std::move(*cert_pem);
  id.key_pem = std::move(*key_pem);
  id.created = false;
  return id;
}

std::optional<std::string> CertificateSubjectAltNames(const std::string& cert_pem) {
  X509Ptr cert = ParseCert(cert_pem);
  if (!cert) return std::nullopt;
  const int idx = X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1);
  if (idx < 0) return std::string();
  X509_EXTENSION* ext = X509_get_ext(cert.get(), idx);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509V3_EXT_print(bio.get(), ext, 0, 0) != 1) return std::nullopt;
  std::string text = BioString(bio.get());
  // OpenSSL prints "IP Address:127.0.0.1, DNS:localhost"; normalise to the config syntax.
  const std::string from = "IP Address:";
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
    text.replace(pos, from.size(), "IP:");
  }
  return text;
}

}  // namespace wattline::rpc
