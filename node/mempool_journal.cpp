#include "node/mempool_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "crypto/hash.h"

namespace wattline::node {

namespace {

constexpr std::size_t kMagicSize = 8;

std::array<std::uint8_t, 4> Check(consensus::ByteSpan tx_bytes) {
  const crypto::Hash256 h = crypto::Sha256Of(tx_bytes);
  return {h.bytes[0], h.bytes[1], h.bytes[2], h.bytes[3]};
}

bool WriteAll(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

bool SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

consensus::Bytes EncodeMempoolJournalRecord(const consensus::Transaction& tx) {
  const consensus::Bytes raw = consensus::EncodeTransaction(tx);
  consensus::Bytes out;
  out.reserve(raw.size() + 8);
  const auto n = static_cast<std::uint32_t>(raw.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), raw.begin(), raw.end());
  const auto check = Check(raw);
  out.insert(out.end(), check.begin(), check.end());
  return out;
}

std::vector<consensus::TransactionRef> DecodeMempoolJournal(consensus::ByteSpan bytes, std::string* error,
                                                             std::size_t* good_bytes) {
  std::vector<consensus::TransactionRef> out;
  std::size_t pos = 0;
  auto stop = [&](std::string why) {
    if (error) *error = std::move(why);
    if (good_bytes) *good_bytes = pos;
    return out;
  };
  if (error) error->clear();
  if (bytes.size() < kMagicSize || std::memcmp(bytes.data(), kMempoolJournalMagic, kMagicSize) != 0)
    return stop(bytes.empty() ? "" : "not a mempool journal (bad magic)");
  pos = kMagicSize;
  while (pos < bytes.size()) {
    const std::string at = "record " + std::to_string(out.size()) + " at byte " + std::to_string(pos);
    if (bytes.size() - pos < 4) return stop(at + ": torn length");
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= std::uint32_t{bytes[pos + static_cast<std::size_t>(i)]} << (8 * i);
    if (n == 0 || n > consensus::kMaxTxSize) return stop(at + ": length " + std::to_string(n) + " out of range");
    if (bytes.size() - pos - 4 < std::size_t{n} + 4) return stop(at + ": torn record");
    const consensus::ByteSpan raw = bytes.subspan(pos + 4, n);
    const auto check = Check(raw);
    if (std::memcmp(check.data(), bytes.data() + pos + 4 + n, 4) != 0) return stop(at + ": checksum mismatch");
    consensus::TransactionRef tx;
    if (consensus::DecodeTransaction(raw, tx) != consensus::DecodeError::kOk) return stop(at + ": not a transaction");
    out.push_back(std::move(tx));
    pos += 4 + std::size_t{n} + 4;
  }
  if (good_bytes) *good_bytes = pos;
  return out;
}

bool MempoolJournal::Open(const std::filesystem::path& path, std::unique_ptr<MempoolJournal>& out,
                          std::vector<consensus::TransactionRef>& records, std::string& damage, std::string& error) {
  std::unique_ptr<MempoolJournal> j(new MempoolJournal(path));
  records.clear();
  damage.clear();
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = "cannot read " + path.string();
      return false;
    }
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t good = 0;
    records = DecodeMempoolJournal({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}, &damage, &good);
    j->m_end = good;  // 0 for a file with a bad magic: the first write starts it over
  }
  for (const auto& tx : records) j->m_txids.push_back(tx->txid());
  out = std::move(j);
  return true;
}

MempoolJournal::~MempoolJournal() {
  if (m_fd >= 0) ::close(m_fd);
}

bool MempoolJournal::OpenForAppendLocked(std::string& error) {
  if (m_fd >= 0) return true;
  m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (m_fd < 0) {
    error = Errno("cannot open " + m_path.string());
    return false;
  }
  // Cut a torn tail (or a foreign file) before the first append goes after the good records.
  if (::ftruncate(m_fd, static_cast<off_t>(m_end)) != 0) {
    error = Errno("cannot truncate " + m_path.string());
    return false;
  }
  if (m_end == 0) {
    if (!WriteAll(m_fd, reinterpret_cast<const std::uint8_t*>(kMempoolJournalMagic), kMagicSize)) {
      error = Errno("cannot write " + m_path.string());
      return false;
    }
    m_end = kMagicSize;
  }
  if (::lseek(m_fd, static_cast<off_t>(m_end), SEEK_SET) < 0) {
    error = Errno("cannot seek " + m_path.string());
    return false;
  }
  return true;
}

bool MempoolJournal::Append(const consensus::Transaction& tx, std::string& error) {
  const consensus::Bytes record = EncodeMempoolJournalRecord(tx);
  std::lock_guard lock(m_mutex);
  if (!OpenForAppendLocked(error)) return false;
  if (!WriteAll(m_fd, record.data(), record.size()) || ::fdatasync(m_fd) != 0) {
    error = Errno("cannot write " + m_path.string());
    // What went out may be torn: the next append starts again at the last good record.
    ::close(m_fd);
    m_fd = -1;
    return false;
  }
  m_end += record.size();
  m_txids.push_back(tx.txid());
  return true;
}

bool MempoolJournal::Rewrite(const std::vector<consensus::TransactionRef>& keep, std::string& error) {
  consensus::Bytes out(kMempoolJournalMagic, kMempoolJournalMagic + kMagicSize);
  for (const auto& tx : keep) {
    const consensus::Bytes r = EncodeMempoolJournalRecord(*tx);
    out.insert(out.end(), r.begin(), r.end());
  }
  std::lock_guard lock(m_mutex);
  const std::string tmp = m_path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = Errno("cannot write " + tmp);
    return false;
  }
  const bool written = WriteAll(fd, out.data(), out.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), m_path.c_str()) != 0) {
    error = Errno("cannot replace " + m_path.string());
    std::remove(tmp.c_str());
    return false;
  }
  SyncDirectory(m_path.parent_path().empty() ? "." : m_path.parent_path());
  if (m_fd >= 0) ::close(m_fd);  // it names the replaced file
  m_fd = -1;
  m_end = out.size();
  m_txids.clear();
  for (const auto& tx : keep) m_txids.push_back(tx->txid());
  return true;
}

std::size_t MempoolJournal::Records() const {
  std::lock_guard lock(m_mutex);
  return m_txids.size();
}

std::vector<crypto::Hash256> MempoolJournal::Txids() const {
  std::lock_guard lock(m_mutex);
  return m_txids;
}

}  // namespace wattline::node
