#include "rpc/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace wattline::rpc {
namespace fs = std::filesystem;

bool EnsurePrivateDir(const fs::path& dir, std::string& error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    error = "cannot set permissions of " + dir.string() + ": " + ec.message();
    return false;
  }
  return true;
}

void SyncDirectory(const fs::path& dir) {
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

bool WriteNewFile(const fs::path& path, std::string_view content, unsigned mode, std::string& error) {
  // Written under a temporary name, then published with link(2), which fails if the name
  // exists: the file appears whole or not at all, and never replaces another.
  const fs::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove(tmp, ec);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) {
    error = "cannot create " + tmp.string() + ": " + std::strerror(errno);
    return false;
  }
  // The umask may have cleared bits we asked for, never added any: set the mode exactly.
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  std::size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (ok && ::link(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    saved = errno;
  }
  fs::remove(tmp, ec);
  if (!ok) {
    error = "cannot write " + path.string() + ": " + std::strerror(saved);
    return false;
  }
  SyncDirectory(path.parent_path());
  return true;
}

std::optional<std::string> ReadSmallFile(const fs::path& path, std::size_t max_bytes, std::string& error) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    error = "cannot read " + path.string() + ": " + ec.message();
    return std::nullopt;
  }
  if (size > max_bytes) {
    error = path.string() + " is too large (" + std::to_string(size) + " bytes)";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path.string();
    return std::nullopt;
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return data;
}

}  // namespace wattline::rpc
