#include "net/file_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "crypto/hash.h"

namespace wattline::net {
namespace {

ledger::Status Errno(const std::string& what, const std::filesystem::path& path) {
  return ledger::Status::IoError(what + " " + path.string() + ": " + std::strerror(errno));
}

ledger::Status FsyncPath(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", path);
  return ledger::Status::Ok();
}

constexpr std::size_t kSealHeader = 12;

}  // namespace

ledger::Status WriteFileAtomic(const std::filesystem::path& path, consensus::ByteSpan bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto s = Errno("cannot write", tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto s = Errno("cannot fsync", tmp);
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return Errno("cannot close", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename to", path);
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  return FsyncPath(dir, O_RDONLY | O_DIRECTORY);
}

consensus::Bytes SealState(const FileKind& kind, std::uint32_t version, const std::array<std::uint8_t, 4>& magic,
                           consensus::ByteSpan payload) {
  consensus::Bytes out;
  out.reserve(kSealHeader + payload.size() + 32);
  out.insert(out.end(), kind.begin(), kind.end());
  consensus::Writer w(out);
  w.U32(version);
  w.Raw(magic);
  w.Raw(payload);
  const crypto::Hash256 sum = crypto::Sha256d(out);
  w.Hash(sum);
  return out;
}

ledger::Status ReadSealedState(const std::filesystem::path& path, const FileKind& kind, std::uint32_t version,
                               const std::array<std::uint8_t, 4>& magic, std::size_t max_bytes,
                               consensus::Bytes& payload) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return ledger::Status::NotFound(path.string() + " does not exist");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return ledger::Status::IoError("cannot stat " + path.string() + ": " + ec.message());
  if (size > max_bytes) {
    return ledger::Status::Corruption(path.string() + " is " + std::to_string(size) + " bytes, more than " +
                                      std::to_string(max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ledger::Status::IoError("cannot open " + path.string());
  consensus::Bytes bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(bytes.size())) {
    return ledger::Status::IoError("cannot read " + path.string());
  }
  if (bytes.size() < kSealHeader + 32) return ledger::Status::Corruption(path.string() + " is truncated");
  if (std::memcmp(bytes.data(), kind.data(), 4) != 0) {
    return ledger::Status::Corruption(path.string() + " is not a " + std::string(kind.data(), 4) + " file");
  }
  const consensus::ByteSpan body(bytes.data(), bytes.size() - 32);
  const crypto::Hash256 sum = crypto::Sha256d(body);
  if (std::memcmp(sum.data(), bytes.data() + body.size(), 32) != 0) {
    return ledger::Status::Corruption(path.string() + " has a bad checksum (damaged or truncated)");
  }
  consensus::Reader r(body);
  std::uint32_t file_version = 0;
  std::array<std::uint8_t, 4> file_magic{};
  std::array<std::uint8_t, 4> skip{};
  (void)r.Raw(skip);
  (void)r.U32(file_version);
  (void)r.Raw(file_magic);
  if (file_version != version) {
    return ledger::Status::Corruption(path.string() + " has format version " + std::to_string(file_version) +
                                      ", expected " + std::to_string(version));
  }
  if (file_magic != magic) return ledger::Status::WrongNetwork(path.string() + " belongs to another network");
  payload.assign(body.begin() + kSealHeader, body.end());
  return ledger::Status::Ok();
}

void SetAsideCorruptFile(const std::filesystem::path& path) {
  std::filesystem::path aside = path;
  aside += ".corrupt";
  std::error_code ec;
  std::filesystem::rename(path, aside, ec);
}

}  // namespace wattline::net
