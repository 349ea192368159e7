#include "cli/meter_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "crypto/hex.h"
#include "crypto/schnorr.h"

namespace wattline::cli {
namespace {

MeterKeyResult Fail(std::string why) { return {false, {}, std::move(why)}; }

bool WriteAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The folder entry must be durable too, or a crash may lose a file whose key was printed.
void SyncParent(const std::filesystem::path& path) {
  const auto parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

MeterKeyResult ProvisionMeterKey(const std::filesystem::path& path) {
  const auto key = crypto::SecretKey::Generate();
  const std::string text = crypto::HexEncode(key.bytes()) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Fail(path.string() + " exists: a meter key is never overwritten (choose another --out)");
    return Fail("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  // O_CREAT's mode is filtered by the umask; 0600 is the contract whatever the umask.
  const bool ok = ::fchmod(fd, 0600) == 0 && WriteAll(fd, text) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    // A half-written key must not look like a key: remove what this call created.
    ::unlink(path.c_str());
    return Fail("cannot write " + path.string() + ": " + std::strerror(saved));
  }
  SyncParent(path);
  return {true, crypto::HexEncode(key.PubKey().span()), {}};
}

MeterKeyResult ReadMeterKey(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return Fail("cannot read the key file " + path.string());
  const auto raw = crypto::HexDecode(line);
  if (!raw || raw->size() != 32) return Fail(path.string() + " does not hold a secret key (64 hex digits)");
  const auto key = crypto::SecretKey::FromBytes(*raw);
  if (!key) return Fail(path.string() + " does not hold a valid secret key");
  return {true, crypto::HexEncode(key->PubKey().span()), {}};
}

}  // namespace wattline::cli
