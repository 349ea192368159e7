// The API's TLS identity: a self-signed EC P-256 certificate (SAN IP:127.0.0.1, DNS:localhost)
// and its key, made with the OpenSSL 3 API on first start in `<datadir>/tls/` (folder 0700,
// key.pem and cert.pem 0600) and read back on later starts, never regenerated. Clients trust
// cert.pem itself (it is its own CA).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace wattline::rpc {

struct TlsIdentity {
  std::string cert_pem;
  std::string key_pem;
  bool created = false;  //!< made by this call (first start)
};

std::filesystem::path TlsCertPath(const std::filesystem::path& datadir);
std::filesystem::path TlsKeyPath(const std::filesystem::path& datadir);

/** Reads the certificate and key, making both when neither exists. Fails (and writes
 *  nothing) when only one exists, or when they do not parse or do not match. */
std::optional<TlsIdentity> LoadOrCreateTls(const std::filesystem::path& datadir, std::string& error);

/** Makes a new self-signed identity in memory (what LoadOrCreateTls writes). */
std::optional<TlsIdentity> MakeSelfSignedIdentity(std::string& error);

/** The subjectAltName entries of a PEM certificate, e.g. {"IP:127.0.0.1", "DNS:localhost"}. */
std::optional<std::string> CertificateSubjectAltNames(const std::string& cert_pem);

}  // namespace wattline::rpc
