// The utility's watchtower (docs/channels.md, "The watchtower"): it holds, for every channel
// whose U is this node's key, the newest commitment A and B both signed, and nothing else (no
// revocation log: a newer state simply replaces the older one, 152 bytes per channel on disk).
//
// A and B send it every co-signed state (`tower_update`). It keeps one only when the channel
// is unsettled on chain, names this node's utility key as U, carries valid signatures of A and B, and
// is newer than what it holds; each kept state is synced before Accept returns.
//
// When a block holds a post of a state older than the one it holds, it posts its own (anyone
// may post a newer state inside the window), and rebroadcasts that post on every block until
// the chain shows a state at least as new. A channel that settled is forgotten. Memory is
// bounded by the channels in dispute, not by the channels watched.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "channels/engine.h"
#include "channels/messages.h"
#include "consensus/transaction.h"
#include "ledger/database.h"

namespace wattline::channels {

class Watchtower {
 public:
  /** Opens (creating) the tower's database in dir; false with why. */
  static bool Open(const std::filesystem::path& dir, ChannelHost& host, std::unique_ptr<Watchtower>& out,
                   std::string& why);

  enum class Verdict { kKept, kNotNewer, kUnknownChannel, kNotOurs, kBadSignature };
  static std::string_view VerdictName(Verdict v);
  /** A tower_update from a channel party. */
  Verdict Accept(const TowerUpdateMsg& m);
  /** Several at once, kept with one synced write (group commit); verdicts in order. */
  std::vector<Verdict> AcceptBatch(const std::vector<TowerUpdateMsg>& updates);

  /** A block connected with these transactions: react to stale posts, rebroadcast, forget settled channels. */
  void OnBlockConnected(const std::vector<consensus::TransactionRef>& txs);

  /**
   * Checks every held channel against the chain, as a block would: posts over a stale post
   * (one mined while this node was down or before its channels started) and forgets the
   * settled. Run once at start; returns the channels in dispute.
   */
  std::size_t CatchUp();

  /** The newest co-signed state held for a channel. */
  std::optional<TowerUpdateMsg> Held(const ChannelId& channel) const;
  /** Channels with a post of ours not yet confirmed. */
  std::size_t Disputes() const;

 private:
  explicit Watchtower(ChannelHost& host) : m_host(host) {}
  Verdict Check(const TowerUpdateMsg& m) const;
  void Respond(const ChannelId& channel, const TowerUpdateMsg& held);
  void Forget(const ChannelId& channel);

  ChannelHost& m_host;
  std::unique_ptr<ledger::Database> m_db;
  mutable std::mutex m_mutex;
  std::map<ChannelId, TowerUpdateMsg> m_disputes;  //!< posted by us, not yet confirmed
};

}  // namespace wattline::channels
