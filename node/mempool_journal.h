// mempool.journal: every transaction this node accepted from its own side (a wallet send,
// SubmitTransaction, a channel's or the market's broadcast), synced before the caller hears
// "accepted" (docs/node.md, "Mempool journal"). mempool.dat is written only at a clean
// shutdown; the journal is what makes a reported txid survive kill -9 or a power cut.
//
//   "WLMJRNL1" (8 bytes), then per transaction: u32 LE length n (1..kMaxTxSize), n bytes of
//   the transaction's canonical encoding, and the first 4 bytes of SHA256 of those n bytes.
//
// Appends are written and fdatasync'ed one at a time under the journal's lock. A crash can
// leave a torn last record: reading stops at the first record that does not check, and the
// next append goes after the last good one. At start the node re-submits every journaled
// transaction (full mempool acceptance: a confirmed or conflicting one simply drops out), and
// peers that connect hear of them (node/peer_manager.h, AnnounceMempoolTo). Rewrite compacts
// the file to the transactions still pending (temporary file, fsync, rename, fsync of the
// directory), so its size follows the unconfirmed local transactions, not the history.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "consensus/transaction.h"

namespace wattline::node {

/** The file's records before the first damaged one; *error says what stopped it (empty: all read). */
std::vector<consensus::TransactionRef> DecodeMempoolJournal(consensus::ByteSpan bytes, std::string* error,
                                                             std::size_t* good_bytes = nullptr);
consensus::Bytes EncodeMempoolJournalRecord(const consensus::Transaction& tx);
inline constexpr char kMempoolJournalMagic[] = "WLMJRNL1";

class MempoolJournal {
 public:
  /**
   * Reads path (a missing file is an empty journal) without changing it: the records go to
   * `records`, a damaged tail is named in `damage`. Nothing is written until the first
   * Append or Rewrite, so a start that is refused later leaves the file as it was.
   */
  static bool Open(const std::filesystem::path& path, std::unique_ptr<MempoolJournal>& out,
                   std::vector<consensus::TransactionRef>& records, std::string& damage, std::string& error);
  ~MempoolJournal();
  MempoolJournal(const MempoolJournal&) = delete;
  MempoolJournal& operator=(const MempoolJournal&) = delete;

  /** Appends tx and syncs it to disk; false (with why) when the disk refused. */
  bool Append(const consensus::Transaction& tx, std::string& error);
  /** Replaces the file with exactly these transactions, atomically. */
  bool Rewrite(const std::vector<consensus::TransactionRef>& keep, std::string& error);
  /** Records in the file now (appended since the last rewrite included). */
  std::size_t Records() const;
  /** The txids of those records (a transaction journaled twice appears twice). */
  std::vector<crypto::Hash256> Txids() const;

 private:
  explicit MempoolJournal(std::filesystem::path path) : m_path(std::move(path)) {}
  bool OpenForAppendLocked(std::string& error);

  const std::filesystem::path m_path;
  mutable std::mutex m_mutex;
  int m_fd = -1;                 //!< open for append once the first write comes
  std::uint64_t m_end = 0;       //!< offset after the last good record
  std::vector<crypto::Hash256> m_txids;
};

}  // namespace wattline::node
