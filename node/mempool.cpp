#include "node/mempool.h"

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

#include "consensus/channel.h"
#include "consensus/market_rules.h"
#include "consensus/tx_check.h"
#include "consensus/tx_verify.h"
#include "node/mempool_file.h"

namespace wattline::node {

using consensus::Amount;
using consensus::TransactionRef;

namespace {
constexpr std::int64_t kRollingHalfLife = 600;  // seconds

bool IsSettle(const consensus::Transaction& tx) {
  consensus::ChannelSettlement s;
  return consensus::DecodeSettlementRecord(tx.record(), s) == consensus::DecodeError::kOk &&
         s.path == consensus::SettlementPath::kSettle;
}
}

std::string MempoolReject::ToString() const {
  std::string s = policy.empty() ? state.ToString() : policy;
  if (!detail.empty()) s += ": " + detail;
  return s;
}

std::int64_t MempoolEntry::FeeRate() const {
  return size == 0 ? 0 : fee.units * 1000 / static_cast<std::int64_t>(size);
}

Mempool::Mempool(ledger::Chainstate& chainstate, MempoolOptions options)
    : m_chain(chainstate), m_options(options), m_chain_market(chainstate), m_market(&m_chain_market) {}

bool Mempool::Accept(const TransactionRef& tx, std::int64_t now, MempoolReject& reject, Amount* fee) {
  std::lock_guard lock(m_mutex);
  return AcceptLocked(tx, now, reject, fee);
}

bool Mempool::AcceptLocked(const TransactionRef& tx, std::int64_t now, MempoolReject& reject, Amount* fee_out) {
  auto refuse = [&](std::string policy, std::string detail = {}) {
    reject.policy = std::move(policy);
    reject.detail = std::move(detail);
    return false;
  };
  if (tx->IsCoinbase()) return refuse("coinbase", "a coinbase is only valid in a block");
  if (!consensus::CheckTransaction(*tx, reject.state)) return false;
  if (m_entries.count(tx->txid())) return refuse("txn-already-in-mempool");
  for (const auto& in : tx->inputs()) {
    auto it = m_spends.find(in.prevout);
    if (it != m_spends.end())
      return refuse("txn-mempool-conflict", "input already spent by " + it->second.ToHex());
  }
  const ledger::BlockIndex* tip = m_chain.Tip();
  const std::uint32_t height = tip->height + 1;
  std::vector<consensus::Coin> coins(tx->inputs().size());
  std::vector<const consensus::Coin*> coin_ptrs(tx->inputs().size(), nullptr);
  std::set<crypto::Hash256> parents;
  for (std::size_t i = 0; i < tx->inputs().size(); ++i) {
    const auto& prevout = tx->inputs()[i].prevout;
    auto parent = m_entries.find(prevout.txid);
    if (parent != m_entries.end()) {
      if (prevout.index >= parent->second.tx->outputs().size()) continue;  // missing: refused below
      coins[i] = consensus::Coin{parent->second.tx->outputs()[prevout.index], height, false};
      coin_ptrs[i] = &coins[i];
      parents.insert(prevout.txid);
    } else if (auto coin = m_chain.GetCoin(prevout)) {
      coins[i] = *coin;
      coin_ptrs[i] = &coins[i];
    }
  }
  const bool market = consensus::IsMarketKind(tx->record().kind);
  const bool readings = tx->record().kind == consensus::RecordKind::kReadings;
  if (readings && m_readings_txs >= m_options.max_readings_txs)
    return refuse("mempool-readings-full", std::to_string(m_readings_txs) + " readings transactions are waiting");
  consensus::MarketOverlay trial(&m_market);
  Amount minted{0}, pooled{0};
  if (market) {
    const consensus::MarketContext ctx{height, static_cast<std::uint64_t>(std::max<std::int64_t>(now, 0))};
    try {
      if (!consensus::ApplyMarketRecord(*tx, ctx, m_chain.params(), trial, minted, reject.state, nullptr, &pooled,
                                        m_options.sig_cache))
        return false;
    } catch (const std::runtime_error& e) {
      return refuse("market-state-unreadable", e.what());
    }
  }
  Amount fee;
  if (!consensus::CheckTxInputs(*tx, coin_ptrs, height, m_chain.params(), fee, reject.state, nullptr, minted, pooled,
                                m_options.sig_cache))
    return false;
  Entry entry;
  entry.tx = tx;
  entry.fee = fee;
  entry.size = tx->size();
  entry.time = now;
  entry.parents = std::move(parents);
  const std::int64_t min_rate = MinFeeRateLocked(now);
  // A meter has no coins: readings pay no fee and are bounded by count instead. A channel's
  // settle after its window pays exactly the fee consensus fixes (zero while the pool pays),
  // and one such transaction exists per channel.
  if (!readings && !IsSettle(*tx) && entry.FeeRate() < min_rate)
    return refuse("mempool-min-fee-not-met",
                  std::to_string(entry.FeeRate()) + " < " + std::to_string(min_rate) + " units/kB");
  const crypto::Hash256 txid = tx->txid();
  entry.seq = m_next_seq++;
  if (market) {
    for (const auto& [key, value] : trial.Writes()) m_market.Write(key, value);
    entry.market_seq = m_next_market_seq++;
    m_market_order.emplace(entry.market_seq, txid);
    if (readings) ++m_readings_txs;
  }
  for (const auto& p : entry.parents) m_entries.at(p).children.insert(txid);
  for (const auto& in : tx->inputs()) m_spends[in.prevout] = txid;
  m_by_fee_rate.insert({entry.FeeRate(), txid});
  m_bytes += entry.size;
  m_entries.emplace(txid, std::move(entry));
  ++m_sequence;
  TrimToSize(now);
  if (!m_entries.count(txid)) {
    // Evicted at once: it paid less than everything else in a full pool. Not a removal the
    // caller should hear about: it never got in.
    m_removed.erase(std::remove(m_removed.begin(), m_removed.end(), txid), m_removed.end());
    return refuse("mempool-full", "fee rate too low for a full mempool");
  }
  if (fee_out) *fee_out = fee;
  return true;
}

void Mempool::RemoveOne(const crypto::Hash256& txid) {
  auto it = m_entries.find(txid);
  if (it == m_entries.end()) return;
  Entry& e = it->second;
  for (const auto& in : e.tx->inputs()) {
    auto s = m_spends.find(in.prevout);
    if (s != m_spends.end() && s->second == txid) m_spends.erase(s);
  }
  for (const auto& p : e.parents) {
    auto pit = m_entries.find(p);
    if (pit != m_entries.end()) pit->second.children.erase(txid);
  }
  for (const auto& c : e.children) {
    auto cit = m_entries.find(c);
    if (cit != m_entries.end()) cit->second.parents.erase(txid);
  }
  m_by_fee_rate.erase({e.FeeRate(), txid});
  m_bytes -= e.size;
  if (e.market_seq) {
    m_market_order.erase(e.market_seq);
    if (e.tx->record().kind == consensus::RecordKind::kReadings) --m_readings_txs;
  }
  m_entries.erase(it);
  m_removed.push_back(txid);
  ++m_sequence;
}

void Mempool::RemoveRecursive(const crypto::Hash256& txid) {
  std::vector<crypto::Hash256> stack{txid};
  std::vector<crypto::Hash256> order;
  std::set<crypto::Hash256> seen;
  while (!stack.empty()) {
    auto t = stack.back();
    stack.pop_back();
    auto it = m_entries.find(t);
    if (it == m_entries.end() || !seen.insert(t).second) continue;
    order.push_back(t);
    for (const auto& c : it->second.children) stack.push_back(c);
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) RemoveOne(*it);
}

void Mempool::TrimToSize(std::int64_t now) {
  if (m_bytes <= m_options.max_bytes) return;
  while (m_bytes > m_options.max_bytes && !m_by_fee_rate.empty()) {
    auto [rate, txid] = *m_by_fee_rate.begin();
    RemoveRecursive(txid);
    // Later transactions must pay more than what was just pushed out.
    const std::int64_t next = rate + m_options.min_fee_rate;
    if (next > MinFeeRateLocked(now)) {
      m_rolling_min = next;
      m_rolling_time = now;
    }
  }
  RebuildMarketLocked();
}

std::int64_t Mempool::MinFeeRateLocked(std::int64_t now) const {
  std::int64_t rolling = m_rolling_min;
  if (rolling > 0) {
    const std::int64_t halvings = std::max<std::int64_t>(0, now - m_rolling_time) / kRollingHalfLife;
    rolling = halvings >= 62 ? 0 : rolling >> halvings;
  }
  return std::max(m_options.min_fee_rate, rolling);
}

std::int64_t Mempool::MinFeeRate(std::int64_t now) const {
  std::lock_guard lock(m_mutex);
  return MinFeeRateLocked(now);
}

void Mempool::BlockConnected(const consensus::Block& block) {
  std::lock_guard lock(m_mutex);
  for (const auto& tx : block.txs) {
    // Included: it leaves, its children now spend chain coins.
    if (m_entries.count(tx->txid())) {
      RemoveOne(tx->txid());
      continue;
    }
    // Spends a coin that a pool transaction also spends: that one can never confirm now.
    for (const auto& in : tx->inputs()) {
      auto it = m_spends.find(in.prevout);
      if (it != m_spends.end()) RemoveRecursive(it->second);
    }
  }
  // The chain's market state moved: the pool's records are replayed on it.
  RebuildMarketLocked();
}

void Mempool::RebuildMarketLocked() {
  m_market.Clear();
  if (m_market_order.empty()) return;
  const std::uint32_t height = m_chain.Tip()->height + 1;
  const auto order = m_market_order;  // removals below change the map
  for (const auto& [seq, txid] : order) {
    auto it = m_entries.find(txid);
    if (it == m_entries.end()) continue;  // removed with an ancestor
    const auto& tx = it->second.tx;
    consensus::MarketOverlay trial(&m_market);
    consensus::Amount minted, pooled;
    consensus::ValidationState state;
    // Meters' signatures were verified on entry and cannot change; a utility signature can
    // stop being valid (a key rotation), so those are checked again.
    std::vector<consensus::SigCheck> checks;
    const consensus::MarketContext ctx{height, static_cast<std::uint64_t>(std::max<std::int64_t>(it->second.time, 0))};
    bool ok = false;
    try {
      ok = consensus::ApplyMarketRecord(*tx, ctx, m_chain.params(), trial, minted, state, &checks, &pooled);
    } catch (const std::runtime_error&) {
      ok = false;
    }
    if (ok && tx->record().kind != consensus::RecordKind::kReadings)
      for (const auto& c : checks) ok = ok && c.Verify(m_options.sig_cache, crypto::SigCache::Mode::kRemember);
    if (!ok) {
      RemoveRecursive(txid);
      continue;
    }
    for (const auto& [key, value] : trial.Writes()) m_market.Write(key, value);
  }
}

bool Mempool::ComputeReadingOutputs(const consensus::ReadingBatch& batch, std::vector<consensus::TxOut>& outputs,
                                    consensus::ValidationState& state) const {
  std::lock_guard lock(m_mutex);
  return consensus::ComputeReadingOutputs(batch, m_market, m_chain.params(), outputs, state);
}

std::optional<consensus::MeterState> Mempool::PendingMeter(const consensus::MeterId& meter) const {
  std::lock_guard lock(m_mutex);
  return consensus::MarketReader(m_market, m_chain.params()).Meter(meter);
}

std::optional<crypto::Hash256> Mempool::FindMarketRecord(const consensus::Record& record) const {
  std::lock_guard lock(m_mutex);
  for (const auto& [seq, txid] : m_market_order) {
    auto it = m_entries.find(txid);
    if (it != m_entries.end() && it->second.tx->record() == record) return txid;
  }
  return std::nullopt;
}

void Mempool::BlockDisconnected(const consensus::Block& block) {
  std::lock_guard lock(m_mutex);
  // Disconnects arrive newest block first; keep the oldest block's transactions first.
  std::vector<TransactionRef> txs;
  for (const auto& tx : block.txs)
    if (!tx->IsCoinbase()) txs.push_back(tx);
  m_disconnected.insert(m_disconnected.begin(), txs.begin(), txs.end());
}

void Mempool::Reorged(std::int64_t now) {
  std::lock_guard lock(m_mutex);
  if (m_disconnected.empty()) return;
  // Rebuild: the disconnected transactions first (they are older), then the pool in the order
  // it was entered. Whatever the new chain made invalid is refused and so leaves.
  std::vector<Entry> old;
  for (auto& [txid, e] : m_entries) old.push_back(e);
  // In acceptance order: parents first, market records in the order their state was built.
  std::sort(old.begin(), old.end(), [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
  const std::set<crypto::Hash256> before = [&] {
    std::set<crypto::Hash256> s;
    for (const auto& e : old) s.insert(e.tx->txid());
    return s;
  }();
  m_entries.clear();
  m_spends.clear();
  m_by_fee_rate.clear();
  m_bytes = 0;
  m_market.Clear();
  m_market_order.clear();
  m_readings_txs = 0;
  auto disconnected = std::move(m_disconnected);
  m_disconnected.clear();
  for (const auto& tx : disconnected) {
    MempoolReject ignored;
    AcceptLocked(tx, now, ignored, nullptr);
  }
  // Parents first: retry until no progress (entry times can tie).
  std::vector<Entry> pending = std::move(old);
  for (bool progress = true; progress && !pending.empty();) {
    progress = false;
    std::vector<Entry> next;
    for (auto& e : pending) {
      MempoolReject r;
      if (AcceptLocked(e.tx, e.time, r, nullptr)) {
        progress = true;
      } else if (r.state.reason() == consensus::Reason::kTxMissingInputs) {
        next.push_back(std::move(e));
      }
    }
    pending = std::move(next);
  }
  // Report what left: pool transactions the new chain invalidated, and transactions of the
  // disconnected blocks that could not come back (the wallet shows those as pending).
  m_removed.clear();
  std::set<crypto::Hash256> gone = before;
  for (const auto& tx : disconnected) gone.insert(tx->txid());
  for (const auto& txid : gone)
    if (!m_entries.count(txid)) m_removed.push_back(txid);
  ++m_sequence;
}

void Mempool::Expire(std::int64_t now) {
  std::lock_guard lock(m_mutex);
  std::vector<crypto::Hash256> expired;
  for (const auto& [txid, e] : m_entries)
    if (e.time + m_options.expiry_seconds < now) expired.push_back(txid);
  for (const auto& t : expired) RemoveRecursive(t);
  if (!expired.empty()) RebuildMarketLocked();
}

std::vector<MempoolEntry> Mempool::SelectForBlock(std::size_t max_bytes) const {
  std::lock_guard lock(m_mutex);
  // Each candidate is scored by the fee rate of its package (itself and its not yet selected
  // in-pool ancestors); the best package goes in whole, ancestors first.
  std::vector<MempoolEntry> out;
  std::set<crypto::Hash256> selected;
  std::size_t used = 0;
  auto package = [&](const crypto::Hash256& txid) {
    std::vector<crypto::Hash256> order;
    std::set<crypto::Hash256> seen;
    std::function<void(const crypto::Hash256&)> visit = [&](const crypto::Hash256& t) {
      if (selected.count(t) || !seen.insert(t).second) return;
      for (const auto& p : m_entries.at(t).parents) visit(p);
      order.push_back(t);
    };
    visit(txid);
    return order;
  };
  // Market records first, in the order the pool accepted them: each one's validity depends on
  // those before it (a meter's readings follow each other, a registration precedes readings).
  // The first that does not fit ends the run, so that none is taken out of order.
  for (const auto& [seq, txid] : m_market_order) {
    auto pkg = package(txid);
    std::size_t size = 0;
    for (const auto& t : pkg) size += m_entries.at(t).size;
    if (used + size > max_bytes) break;
    for (const auto& t : pkg) {
      selected.insert(t);
      out.push_back(m_entries.at(t));
    }
    used += size;
  }
  std::set<crypto::Hash256> skipped;
  for (;;) {
    const crypto::Hash256* best = nullptr;
    std::int64_t best_rate = -1;
    std::vector<crypto::Hash256> best_pkg;
    for (const auto& [txid, e] : m_entries) {
      if (selected.count(txid) || skipped.count(txid) || e.market_seq) continue;
      auto pkg = package(txid);
      // It depends on a market record that did not fit: not in this block.
      if (std::any_of(pkg.begin(), pkg.end(), [&](const auto& t) { return m_entries.at(t).market_seq != 0; })) {
        skipped.insert(txid);
        continue;
      }
      std::int64_t fee = 0;
      std::size_t size = 0;
      for (const auto& t : pkg) {
        fee += m_entries.at(t).fee.units;
        size += m_entries.at(t).size;
      }
      const std::int64_t rate = fee * 1000 / static_cast<std::int64_t>(std::max<std::size_t>(size, 1));
      if (rate > best_rate) {
        best_rate = rate;
        best = &txid;
        best_pkg = std::move(pkg);
      }
    }
    if (!best) break;
    std::size_t size = 0;
    for (const auto& t : best_pkg) size += m_entries.at(t).size;
    if (used + size > max_bytes) {
      skipped.insert(*best);
      continue;
    }
    for (const auto& t : best_pkg) {
      selected.insert(t);
      out.push_back(m_entries.at(t));
    }
    used += size;
  }
  return out;
}

std::optional<MempoolEntry> Mempool::Get(const crypto::Hash256& txid) const {
  std::lock_guard lock(m_mutex);
  auto it = m_entries.find(txid);
  if (it == m_entries.end()) return std::nullopt;
  return static_cast<const MempoolEntry&>(it->second);
}

bool Mempool::Contains(const crypto::Hash256& txid) const {
  std::lock_guard lock(m_mutex);
  return m_entries.count(txid) != 0;
}

std::size_t Mempool::Count() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

std::size_t Mempool::Bytes() const {
  std::lock_guard lock(m_mutex);
  return m_bytes;
}

std::uint64_t Mempool::Sequence() const {
  std::lock_guard lock(m_mutex);
  return m_sequence;
}

std::vector<MempoolEntry> Mempool::All() const {
  std::lock_guard lock(m_mutex);
  std::vector<MempoolEntry> out;
  for (const auto& [txid, e] : m_entries) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  return out;
}

std::vector<crypto::Hash256> Mempool::TakeRemoved() {
  std::lock_guard lock(m_mutex);
  return std::exchange(m_removed, {});
}

void Mempool::Remove(const crypto::Hash256& txid) {
  std::lock_guard lock(m_mutex);
  if (m_entries.count(txid)) RemoveRecursive(txid);
}

bool Mempool::Save(const std::filesystem::path& path) const {
  std::vector<SavedTransaction> entries;
  for (const auto& e : All()) entries.push_back({e.time, e.tx});
  const consensus::Bytes out = EncodeMempoolFile(entries);
  const auto tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

std::size_t Mempool::Load(const std::filesystem::path& path, std::int64_t now, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto entries =
      DecodeMempoolFile({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}, error);
  std::size_t accepted = 0;
  std::lock_guard lock(m_mutex);
  for (const auto& e : entries) {
    if (e.time + m_options.expiry_seconds < now) continue;
    MempoolReject reject;
    if (AcceptLocked(e.tx, e.time, reject, nullptr)) ++accepted;
  }
  m_removed.clear();
  return accepted;
}

}  // namespace wattline::node
