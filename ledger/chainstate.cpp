#include "ledger/chainstate.h"

#include <algorithm>
#include <cstring>

#include "consensus/market_rules.h"
#include "consensus/tx_check.h"
#include "ledger/keys.h"

namespace wattline::ledger {

using consensus::Block;
using consensus::Reason;
using consensus::ValidationState;

namespace {

leveldb::Slice AsSlice(const consensus::Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
leveldb::Slice AsSlice(const crypto::Hash256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }
consensus::ByteSpan AsSpan(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::optional<crypto::Hash256> ReadHashRecord(const Database& db, char key) {
  auto v = db.Get(keys::Single(key));
  if (!v) return std::nullopt;
  if (v->size() != 32) throw StorageError(std::string("corrupt record '") + key + "'");
  return crypto::Hash256::FromBytes(AsSpan(*v));
}

}  // namespace

Chainstate::Chainstate(const consensus::Params& params, ChainstateOptions options)
    : m_params(params), m_options(std::move(options)) {}

Chainstate::~Chainstate() {
  try {
    std::lock_guard lock(m_mutex);
    if (m_coins && !m_chain.empty()) m_coins->Flush(m_chain.back()->hash);
  } catch (const std::exception&) {
    // The disk failed: what was flushed before is consistent and replay covers the rest.
  }
}

Status Chainstate::Open(const consensus::Params& params, ChainstateOptions options, std::unique_ptr<Chainstate>& out) {
  auto cs = std::unique_ptr<Chainstate>(new Chainstate(params, std::move(options)));
  Status s = Database::Open(cs->m_options.dir, cs->m_options.db_cache_bytes, cs->m_db);
  if (!s.ok()) return s;
  try {
    std::lock_guard lock(cs->m_mutex);
    s = cs->Load();
  } catch (const StorageError& e) {
    return Status::Corruption(e.what());
  }
  if (!s.ok()) return s;
  out = std::move(cs);
  return Status::Ok();
}

Status Chainstate::Load() {
  m_coins_db = std::make_unique<CoinsDB>(*m_db);
  m_coins = std::make_unique<CoinsCache>(m_coins_db.get());
  m_market_db = std::make_unique<MarketDB>(*m_db);
  m_market = std::make_unique<MarketCache>(m_market_db.get());
  m_coins_db->SetCompanion([this](leveldb::WriteBatch& batch) { m_market->FlushTo(batch); });

  auto magic = m_db->Get(keys::Single(keys::kNetwork));
  if (magic) {
    if (magic->size() != 4 || std::memcmp(magic->data(), m_params.magic.data(), 4) != 0) {
      std::string owner = "another network";
      for (auto n : {consensus::Network::kMain, consensus::Network::kTestnet, consensus::Network::kDevnet,
                     consensus::Network::kRegtest})
        if (magic->size() == 4 && std::memcmp(magic->data(), consensus::GetParams(n).magic.data(), 4) == 0)
          owner = "network '" + std::string(consensus::NetworkName(n)) + "'";
      return Status::WrongNetwork(m_options.dir.string() + " holds a chainstate of " + owner + ", not '" +
                                  m_params.name + "'");
    }
  }

  // Load every index record, then link parents and derive work in height order.
  std::vector<std::unique_ptr<BlockIndex>> loaded;
  m_db->ForEachWithPrefix(keys::Single(keys::kBlockIndex), [&](std::string_view key, std::string_view value) {
    auto index = std::make_unique<BlockIndex>();
    if (key.size() != 33 ||
        !DecodeBlockIndex({reinterpret_cast<const std::uint8_t*>(value.data()), value.size()}, *index))
      throw StorageError("corrupt block index record");
    index->hash = crypto::Hash256::FromBytes({reinterpret_cast<const std::uint8_t*>(key.data() + 1), 32});
    loaded.push_back(std::move(index));
    return true;
  });
  if (loaded.empty()) {
    if (magic) return Status::Corruption("chainstate has a network record but no blocks");
    InitGenesis();
    return Status::Ok();
  }
  if (!magic) return Status::Corruption("chainstate has blocks but no network record");

  std::sort(loaded.begin(), loaded.end(), [](const auto& a, const auto& b) {
    return a->height != b->height ? a->height < b->height : a->sequence < b->sequence;
  });
  for (auto& up : loaded) {
    BlockIndex* index = up.get();
    m_index.emplace(index->hash, std::move(up));
  }
  for (auto& [hash, up] : m_index) {
    BlockIndex* index = up.get();
    if (index->height == 0) {
      if (hash != m_params.genesis_hash) return Status::Corruption("unexpected genesis block in the index");
      continue;
    }
    index->prev = Find(index->header.prev_hash);
    if (!index->prev || index->prev->height + 1 != index->height)
      return Status::Corruption("block index entry " + hash.ToHex() + " has no parent");
  }
  m_all.clear();
  for (auto& [hash, up] : m_index) m_all.push_back(up.get());
  std::sort(m_all.begin(), m_all.end(), [](const BlockIndex* a, const BlockIndex* b) {
    return a->height != b->height ? a->height < b->height : a->sequence < b->sequence;
  });
  for (BlockIndex* index : m_all) {
    index->chain_work = (index->prev ? index->prev->chain_work : uint256(0)) + consensus::BlockWork(index->header.bits);
    index->chain_has_data = index->HaveData() && (!index->prev || index->prev->chain_has_data);
    if (index->HaveData() && index->prev && !index->prev->chain_has_data) m_unlinked.emplace(index->prev, index);
    m_next_sequence = std::max(m_next_sequence, index->sequence + 1);
  }

  auto tip_hash = ReadHashRecord(*m_db, keys::kTip);
  auto coins_hash = m_coins_db->BestBlock();
  if (!tip_hash) return Status::Corruption("chainstate has no tip record");
  BlockIndex* tip = Find(*tip_hash);
  if (!tip || !tip->chain_has_data) return Status::Corruption("chainstate tip is not in the index");
  BlockIndex* coins_tip = coins_hash ? Find(*coins_hash) : nullptr;
  if (!coins_tip && !m_options.reindex_chainstate)
    return Status::Corruption(coins_hash ? "the coins' best block is not in the index" : "the coins have no best block");

  m_chain.assign(tip->height + 1, nullptr);
  for (BlockIndex* p = tip; p; p = p->prev) m_chain[p->height] = p;
  if (m_options.reindex_chainstate) coins_tip = WipeCoinsAndMarket();
  if (coins_tip != tip) Replay(coins_tip);
  RebuildCandidates();
  RecomputeBestHeader();
  ActivateBestChain(nullptr);
  return Status::Ok();
}

void Chainstate::InitGenesis() {
  const Block& genesis = m_params.genesis;
  BlockIndex* index = AddIndex(genesis.header, nullptr, kHaveData | kConnected,
                               static_cast<std::uint32_t>(genesis.txs.size()));
  index->chain_has_data = true;
  leveldb::WriteBatch batch;
  batch.Put(keys::Single(keys::kNetwork),
            leveldb::Slice(reinterpret_cast<const char*>(m_params.magic.data()), m_params.magic.size()));
  batch.Put(keys::WithHash(keys::kBlock, index->hash), AsSlice(consensus::EncodeBlock(genesis)));
  batch.Put(keys::WithHash(keys::kUndo, index->hash), AsSlice(EncodeUndo({})));
  WriteIndex(index, batch);
  batch.Put(keys::Single(keys::kTip), AsSlice(index->hash));
  batch.Put(keys::Single(keys::kCoinsTip), AsSlice(index->hash));
  m_db->Write(batch, /*sync=*/true);
  m_chain = {index};
  m_candidates.insert(index);
  m_best_header = index;
}

BlockIndex* Chainstate::WipeCoinsAndMarket() {
  // Deleted in batches: a large coin set is never held in one write.
  constexpr std::size_t kBatch = 10'000;
  for (char prefix : {keys::kCoin, keys::kMarket}) {
    for (;;) {
      std::vector<std::string> doomed;
      m_db->ForEachWithPrefix(std::string(1, prefix), [&](std::string_view key, std::string_view) {
        doomed.emplace_back(key);
        return doomed.size() < kBatch;
      });
      if (doomed.empty()) break;
      leveldb::WriteBatch batch;
      for (const auto& k : doomed) batch.Delete(k);
      m_db->Write(batch, /*sync=*/false);
    }
  }
  BlockIndex* genesis = m_chain.front();
  leveldb::WriteBatch batch;
  batch.Put(keys::Single(keys::kCoinsTip), AsSlice(genesis->hash));
  m_db->Write(batch, /*sync=*/true);
  // The caches are empty at open; start them over on the wiped store anyway.
  m_coins = std::make_unique<CoinsCache>(m_coins_db.get());
  m_market = std::make_unique<MarketCache>(m_market_db.get());
  return genesis;
}

// The coin set on disk matches `coins_tip`, the last flush; the tip record matches m_chain.
// Walk the coins from one to the other: undo back to the fork, then connect forward again.
void Chainstate::Replay(BlockIndex* coins_tip) {
  const BlockIndex* fork = FindFork(coins_tip, m_chain.back());
  if (!fork) throw StorageError("coins tip and chain tip share no ancestor");
  std::vector<BlockIndex*> saved_chain = m_chain;
  // Disconnect along the coins' own branch.
  m_chain.assign(coins_tip->height + 1, nullptr);
  for (BlockIndex* p = coins_tip; p; p = p->prev) m_chain[p->height] = p;
  while (m_chain.back() != fork) DisconnectTip();
  const auto tip_height = static_cast<std::uint32_t>(saved_chain.size() - 1);
  for (std::size_t h = fork->height + 1; h < saved_chain.size(); ++h) {
    Block block;
    if (!ReadBlockLocked(*saved_chain[h], block)) throw StorageError("replay: block data missing");
    ValidationState state;
    if (!ConnectTip(saved_chain[h], block, state, /*write_tip=*/false))
      throw StorageError("replay: a block connected before fails now: " + state.ToString());
    if (m_options.progress && (h % 1000 == 0 || h == tip_height)) m_options.progress(static_cast<std::uint32_t>(h), tip_height);
  }
  m_coins->Flush(m_chain.back()->hash);
}

BlockIndex* Chainstate::Find(const crypto::Hash256& hash) const {
  auto it = m_index.find(hash);
  return it == m_index.end() ? nullptr : it->second.get();
}

BlockIndex* Chainstate::AddIndex(const consensus::BlockHeader& header, BlockIndex* prev, std::uint32_t status,
                                 std::uint32_t tx_count) {
  auto up = std::make_unique<BlockIndex>();
  BlockIndex* index = up.get();
  index->hash = header.Hash();
  index->header = header;
  index->prev = prev;
  index->height = prev ? prev->height + 1 : 0;
  index->status = status;
  index->tx_count = tx_count;
  index->sequence = m_next_sequence++;
  index->chain_work = (prev ? prev->chain_work : uint256(0)) + consensus::BlockWork(header.bits);
  m_index.emplace(index->hash, std::move(up));
  m_all.push_back(index);
  UpdateBestHeader(index);
  return index;
}

void Chainstate::UpdateBestHeader(BlockIndex* index) {
  if (index->IsFailed()) return;
  if (!m_best_header || index->chain_work > m_best_header->chain_work) m_best_header = index;
}

void Chainstate::RecomputeBestHeader() {
  m_best_header = m_chain.back();
  for (BlockIndex* b : m_all) UpdateBestHeader(b);
}

void Chainstate::WriteIndex(BlockIndex* index, leveldb::WriteBatch& batch) {
  batch.Put(keys::WithHash(keys::kBlockIndex, index->hash), AsSlice(EncodeBlockIndex(*index)));
}

void Chainstate::StoreFailed(const Block& block, BlockIndex* prev, std::uint32_t status) {
  if (BlockIndex* known = Find(block.Hash())) {
    // A header stored by headers-first sync: mark it (and its descendants) instead.
    known->status |= status;
    MarkInvalid(known);
    return;
  }
  BlockIndex* index = AddIndex(block.header, prev, status, static_cast<std::uint32_t>(block.txs.size()));
  leveldb::WriteBatch batch;
  WriteIndex(index, batch);
  m_db->Write(batch, /*sync=*/true);
}

void Chainstate::LinkData(BlockIndex* index) {
  if (index->prev && !index->prev->chain_has_data) {
    m_unlinked.emplace(index->prev, index);
    return;
  }
  std::vector<BlockIndex*> queue{index};
  while (!queue.empty()) {
    BlockIndex* b = queue.back();
    queue.pop_back();
    b->chain_has_data = true;
    if (!b->IsFailed()) m_candidates.insert(b);
    auto [first, last] = m_unlinked.equal_range(b);
    for (auto it = first; it != last; ++it) queue.push_back(it->second);
    m_unlinked.erase(first, last);
  }
}

void Chainstate::MarkInvalid(BlockIndex* failed) {
  leveldb::WriteBatch batch;
  failed->status |= kFailed;
  WriteIndex(failed, batch);
  // m_all lists parents before children: one pass marks every descendant.
  for (BlockIndex* b : m_all) {
    if (b->prev && b->prev->IsFailed() && !b->IsFailed()) {
      b->status |= kFailedChild;
      WriteIndex(b, batch);
    }
  }
  m_db->Write(batch, /*sync=*/true);
  RebuildCandidates();
  RecomputeBestHeader();
}

void Chainstate::RebuildCandidates() {
  m_candidates.clear();
  const uint256& tip_work = m_chain.back()->chain_work;
  for (BlockIndex* b : m_all)
    if (b->chain_has_data && !b->IsFailed() && b->chain_work >= tip_work) m_candidates.insert(b);
  m_candidates.insert(m_chain.back());
}

consensus::HeaderContext Chainstate::ContextFor(const BlockIndex& prev, std::int64_t now) const {
  consensus::HeaderContext ctx;
  ctx.height = prev.height + 1;
  ctx.now = now;
  ctx.expected_bits = prev.header.bits;
  if (consensus::IsRetargetHeight(m_params, ctx.height)) {
    const BlockIndex* start = prev.Ancestor(consensus::RetargetWindowStart(m_params, ctx.height));
    ctx.expected_bits = consensus::NextBits(m_params, ctx.height, prev.header.bits, start->header.time, prev.header.time);
  }
  std::vector<std::uint64_t> times;
  const BlockIndex* p = &prev;
  for (std::uint32_t i = 0; i < m_params.median_time_span && p; ++i, p = p->prev) times.push_back(p->header.time);
  ctx.median_time_past = consensus::MedianTime(std::move(times));
  return ctx;
}

bool Chainstate::ProcessBlock(const Block& block, std::int64_t now, ValidationState& state) {
  std::lock_guard lock(m_mutex);
  const crypto::Hash256 hash = block.Hash();
  if (BlockIndex* known = Find(hash)) {
    if (known->IsFailed()) return state.Invalid(Reason::kBlockCachedInvalid, hash.ToHex());
    if (known->HaveData()) return true;
  }
  // Proof of work first: nothing is stored for a header that did not pay for it.
  if (!consensus::CheckBlockHeader(block.header, m_params, state)) return false;
  BlockIndex* prev = Find(block.header.prev_hash);
  if (!prev) return state.Invalid(Reason::kBlockPrevMissing, block.header.prev_hash.ToHex());
  if (prev->IsFailed()) {
    StoreFailed(block, prev, kFailedChild);
    return state.Invalid(Reason::kBlockPrevInvalid, block.header.prev_hash.ToHex());
  }
  const bool header_ok = consensus::ContextualCheckHeader(block.header, ContextFor(*prev, now), m_params, state);
  if (header_ok && consensus::CheckBlock(block, m_params, state) &&
      consensus::CheckCoinbaseHeight(block, prev->height + 1, state)) {
    BlockIndex* index = Find(hash);  // a header stored by headers-first sync
    if (index) {
      index->status |= kHaveData;
      index->tx_count = static_cast<std::uint32_t>(block.txs.size());
    } else {
      index = AddIndex(block.header, prev, kHaveData, static_cast<std::uint32_t>(block.txs.size()));
    }
    leveldb::WriteBatch batch;
    batch.Put(keys::WithHash(keys::kBlock, hash), AsSlice(consensus::EncodeBlock(block)));
    WriteIndex(index, batch);
    m_db->Write(batch, /*sync=*/true);
    LinkData(index);
    m_connect_failures.clear();
    ActivateBestChain(&block);
    if (index->IsFailed()) {
      auto it = m_connect_failures.find(hash);
      if (it != m_connect_failures.end()) {
        state = it->second;
      } else {
        state.Invalid(Reason::kBlockPrevInvalid, "an ancestor failed to connect");
      }
      m_connect_failures.clear();
      return false;
    }
    m_connect_failures.clear();
    return true;
  }
  // Remember only what is invalid forever; malformed or premature blocks may come back right.
  if (state.category() == consensus::Category::kInvalid) StoreFailed(block, prev, kFailed);
  return false;
}

bool Chainstate::AcceptHeaders(std::span<const consensus::BlockHeader> headers, std::int64_t now,
                               ValidationState& state, HeadersResult& result) {
  std::lock_guard lock(m_mutex);
  result = {};
  if (headers.empty()) return true;
  BlockIndex* prev = Find(headers[0].prev_hash);
  if (!prev) return state.Invalid(Reason::kBlockPrevMissing, headers[0].prev_hash.ToHex());
  // Skip what we know already; the rest must be new.
  std::size_t first_new = 0;
  for (; first_new < headers.size(); ++first_new) {
    BlockIndex* known = Find(headers[first_new].Hash());
    if (!known) break;
    if (known->IsFailed()) return state.Invalid(Reason::kBlockCachedInvalid, known->hash.ToHex());
    prev = known;
  }
  result.fork_height = prev->height;
  result.last_height = prev->height;
  if (first_new == headers.size()) {
    result.last = prev;
    return true;
  }
  if (prev->IsFailed()) return state.Invalid(Reason::kBlockPrevInvalid, prev->hash.ToHex());
  // Check the new headers in memory, on index entries of our own that are not in the index.
  std::vector<std::unique_ptr<BlockIndex>> pending;
  const BlockIndex* parent = prev;
  for (std::size_t i = first_new; i < headers.size(); ++i) {
    const consensus::BlockHeader& header = headers[i];
    if (i > first_new && header.prev_hash != pending.back()->hash)
      return state.Invalid(Reason::kBlockPrevMissing, "headers are not a chain");
    if (i == first_new && header.prev_hash != prev->hash)
      return state.Invalid(Reason::kBlockPrevMissing, "headers are not a chain");
    if (!consensus::CheckBlockHeader(header, m_params, state)) return false;
    if (!consensus::ContextualCheckHeader(header, ContextFor(*parent, now), m_params, state)) return false;
    auto entry = std::make_unique<BlockIndex>();
    entry->hash = header.Hash();
    entry->header = header;
    entry->prev = const_cast<BlockIndex*>(parent);
    entry->height = parent->height + 1;
    entry->chain_work = parent->chain_work + consensus::BlockWork(header.bits);
    parent = entry.get();
    pending.push_back(std::move(entry));
  }
  result.new_headers = pending.size();
  result.last_height = parent->height;
  if (parent->chain_work < m_chain.back()->chain_work) {
    result.low_work = true;
    return true;
  }
  leveldb::WriteBatch batch;
  BlockIndex* index = prev;
  for (const auto& entry : pending) {
    index = AddIndex(entry->header, index, 0, 0);
    WriteIndex(index, batch);
  }
  // Headers can be fetched again: no sync needed (the next synced write carries them).
  m_db->Write(batch, /*sync=*/false);
  result.last = index;
  return true;
}

const BlockIndex* Chainstate::BestHeader() const {
  std::lock_guard lock(m_mutex);
  return m_best_header;
}

std::vector<const BlockIndex*> Chainstate::MissingBlocks(const BlockIndex* target, std::uint32_t window,
                                                         std::size_t max_count,
                                                         const std::function<bool(const crypto::Hash256&)>& skip) const {
  std::lock_guard lock(m_mutex);
  std::vector<const BlockIndex*> out;
  if (!target || target->IsFailed() || max_count == 0) return out;
  const BlockIndex* tip = m_chain.back();
  if (target->chain_work <= tip->chain_work && IsActiveLocked(target)) return out;
  const BlockIndex* fork = FindFork(tip, target);
  const std::uint32_t limit = tip->height + window;
  const BlockIndex* top = target->height > limit ? target->Ancestor(limit) : target;
  std::vector<const BlockIndex*> path;
  for (const BlockIndex* p = top; p && p != fork; p = p->prev) path.push_back(p);
  for (auto it = path.rbegin(); it != path.rend() && out.size() < max_count; ++it) {
    const BlockIndex* b = *it;
    if (b->IsFailed()) break;
    if (b->HaveData() || skip(b->hash)) continue;
    out.push_back(b);
  }
  return out;
}

std::vector<crypto::Hash256> Chainstate::Locator(const BlockIndex* from) const {
  std::lock_guard lock(m_mutex);
  std::vector<crypto::Hash256> out;
  const BlockIndex* p = from ? from : m_chain.back();
  std::uint32_t step = 1;
  while (p) {
    out.push_back(p->hash);
    if (p->height == 0) break;
    const std::uint32_t next = p->height > step ? p->height - step : 0;
    // On the active chain jump directly; elsewhere walk back.
    p = IsActiveLocked(p) ? m_chain[next] : p->Ancestor(next);
    if (out.size() >= 10) step *= 2;
  }
  return out;
}

std::vector<consensus::BlockHeader> Chainstate::HeadersAfter(const std::vector<crypto::Hash256>& locator,
                                                             const crypto::Hash256& stop, std::size_t max_count) const {
  std::lock_guard lock(m_mutex);
  std::uint32_t start = 0;  // the height of the fork block; genesis when nothing matches
  for (const auto& hash : locator) {
    const BlockIndex* b = Find(hash);
    if (b && IsActiveLocked(b)) {
      start = b->height;
      break;
    }
  }
  std::vector<consensus::BlockHeader> out;
  for (std::uint32_t h = start + 1; h < m_chain.size() && out.size() < max_count; ++h) {
    out.push_back(m_chain[h]->header);
    if (m_chain[h]->hash == stop) break;
  }
  return out;
}

bool Chainstate::IsActiveLocked(const BlockIndex* index) const {
  return index && index->height < m_chain.size() && m_chain[index->height] == index;
}

bool Chainstate::TestBlockValidity(const Block& block, std::int64_t now, bool check_pow, ValidationState& state) {
  std::lock_guard lock(m_mutex);
  BlockIndex* tip = m_chain.back();
  if (block.header.prev_hash != tip->hash) return state.Invalid(Reason::kBlockPrevMissing, "does not extend the tip");
  if (!consensus::ContextualCheckHeader(block.header, ContextFor(*tip, now), m_params, state)) return false;
  if (!consensus::CheckBlock(block, m_params, state, check_pow)) return false;
  if (!consensus::CheckCoinbaseHeight(block, tip->height + 1, state)) return false;
  BlockUndo undo;
  return ConnectBlock(tip->height + 1, block.Hash(), block, undo, state, /*apply=*/false);
}

void Chainstate::ActivateBestChain(const Block* hint) {
  for (;;) {
    BlockIndex* tip = m_chain.back();
    if (m_candidates.empty()) return;
    BlockIndex* best = *m_candidates.begin();
    if (best == tip || best->chain_work <= tip->chain_work) break;
    const BlockIndex* fork = FindFork(tip, best);
    while (m_chain.back() != fork) DisconnectTip();
    std::vector<BlockIndex*> path;
    for (BlockIndex* p = best; p != fork; p = p->prev) path.push_back(p);
    bool failed = false;
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      Block loaded;
      const Block* block = (hint && (*it)->hash == hint->Hash()) ? hint : nullptr;
      if (!block) {
        if (!ReadBlockLocked(**it, loaded)) throw StorageError("block data missing for " + (*it)->hash.ToHex());
        block = &loaded;
      }
      ValidationState state;
      if (!ConnectTip(*it, *block, state, /*write_tip=*/true)) {
        m_connect_failures[(*it)->hash] = state;
        MarkInvalid(*it);
        failed = true;
        break;
      }
    }
    if (!failed) {
      // Blocks with less work than the new tip can no longer win.
      for (auto it = m_candidates.begin(); it != m_candidates.end();) {
        if ((*it)->chain_work < m_chain.back()->chain_work)
          it = m_candidates.erase(it);
        else
          ++it;
      }
    }
  }
  MaybeFlush();
}

bool Chainstate::ConnectBlock(std::uint32_t height, const crypto::Hash256& hash, const Block& block, BlockUndo& undo,
                              ValidationState& state, bool apply) {
  CoinsCache view(m_coins.get());
  consensus::MarketOverlay market(m_market.get());
  const consensus::MarketContext market_ctx{height, block.header.time};
  std::vector<consensus::SigCheck> checks;
  std::vector<std::size_t> check_tx;  // which transaction each check belongs to
  std::vector<const Coin*> spent;
  consensus::Amount fees{0};
  consensus::Amount pool_share;
  try {
    pool_share = consensus::ConnectBlockPool(height, m_params, market);
  } catch (const std::runtime_error& e) {
    throw StorageError(e.what());
  }
  for (std::size_t t = 0; t < block.txs.size(); ++t) {
    const consensus::Transaction& tx = *block.txs[t];
    if (!tx.IsCoinbase()) {
      spent.clear();
      for (const auto& in : tx.inputs()) spent.push_back(view.AccessCoin(in.prevout));
      consensus::Amount fee, minted, pooled;
      ValidationState tx_state;
      try {
        if (!consensus::ApplyMarketRecord(tx, market_ctx, m_params, market, minted, tx_state, &checks, &pooled))
          return state.Invalid(Reason::kBlockInvalidTx, tx_state.ToString() + " in tx " + tx.txid().ToHex());
      } catch (const std::runtime_error& e) {
        throw StorageError(e.what());
      }
      check_tx.resize(checks.size(), t);
      if (!consensus::CheckTxInputs(tx, spent, height, m_params, fee, tx_state, &checks, minted, pooled))
        return state.Invalid(Reason::kBlockInvalidTx, tx_state.ToString() + " in tx " + tx.txid().ToHex());
      check_tx.resize(checks.size(), t);
      auto sum = consensus::CheckedAdd(fees, fee);
      if (!sum) return state.Invalid(Reason::kBlockInvalidTx, "bad-txns-accumulated-fee-outofrange");
      fees = *sum;
      for (const auto& in : tx.inputs()) undo.spent.push_back(*view.SpendCoin(in.prevout));
    }
    for (std::uint32_t i = 0; i < tx.outputs().size(); ++i)
      view.AddCoin({tx.txid(), i}, Coin{tx.outputs()[i], height, tx.IsCoinbase()});
  }
  consensus::Amount claimed{0};
  for (const auto& out : block.txs[0]->outputs()) claimed = *consensus::CheckedAdd(claimed, out.amount);
  auto allowed = consensus::CheckedAdd(consensus::BlockSubsidy(height, m_params), fees);
  if (allowed) allowed = consensus::CheckedAdd(*allowed, pool_share);
  if (!allowed || claimed > *allowed)
    return state.Invalid(Reason::kBlockCoinbaseAmount, "claims " + std::to_string(claimed.units) + ", allowed " +
                                                           std::to_string(allowed ? allowed->units : 0));
  // Only a block that is being connected retires the cache entries it used: a validity test
  // (a miner's template) is followed by the real connect, which should still hit.
  const auto mode = apply ? crypto::SigCache::Mode::kLookupAndRetire : crypto::SigCache::Mode::kLookup;
  std::optional<std::size_t> bad;
  if (m_options.check_queue) {
    bad = m_options.check_queue->RunAll(checks, m_options.sig_cache, mode);
  } else {
    for (std::size_t i = 0; i < checks.size() && !bad; ++i)
      if (!checks[i].Verify(m_options.sig_cache, mode)) bad = i;
  }
  if (bad)
    return state.Invalid(Reason::kBlockInvalidTx,
                         "bad-txns-signature in tx " + block.txs[check_tx[*bad]]->txid().ToHex());
  if (apply) {
    view.Flush(hash);
    undo.market = market.Undo();
    for (const auto& [key, value] : market.Writes()) m_market->Write(key, value);
  }
  return true;
}

bool Chainstate::ConnectTip(BlockIndex* index, const Block& block, ValidationState& state, bool write_tip) {
  BlockUndo undo;
  if (!ConnectBlock(index->height, index->hash, block, undo, state, /*apply=*/true)) return false;
  leveldb::WriteBatch batch;
  batch.Put(keys::WithHash(keys::kUndo, index->hash), AsSlice(EncodeUndo(undo)));
  index->status |= kConnected;
  WriteIndex(index, batch);
  if (write_tip) batch.Put(keys::Single(keys::kTip), AsSlice(index->hash));
  m_db->Write(batch, /*sync=*/true);
  m_chain.push_back(index);
  if (m_options.notifications) m_options.notifications->BlockConnected(block, *index);
  MaybeFlush();
  return true;
}

// The tip record is not rewritten here: until the next connect, a crash returns to the old
// tip, which is a state this node did report.
void Chainstate::DisconnectTip() {
  BlockIndex* index = m_chain.back();
  if (!index->prev) throw StorageError("cannot disconnect the genesis block");
  Block block;
  if (!ReadBlockLocked(*index, block)) throw StorageError("disconnect: block data missing");
  auto undo_bytes = m_db->Get(keys::WithHash(keys::kUndo, index->hash));
  BlockUndo undo;
  if (!undo_bytes || DecodeUndo(AsSpan(*undo_bytes), undo) != consensus::DecodeError::kOk)
    throw StorageError("disconnect: undo data missing or corrupt for " + index->hash.ToHex());
  CoinsCache view(m_coins.get());
  std::size_t next_undo = undo.spent.size();
  for (auto tx_it = block.txs.rbegin(); tx_it != block.txs.rend(); ++tx_it) {
    const consensus::Transaction& tx = **tx_it;
    for (std::uint32_t i = 0; i < tx.outputs().size(); ++i)
      if (!view.SpendCoin({tx.txid(), i})) throw StorageError("disconnect: an output of the block is not unspent");
    if (tx.IsCoinbase()) continue;
    for (auto in = tx.inputs().rbegin(); in != tx.inputs().rend(); ++in) {
      if (next_undo == 0) throw StorageError("disconnect: undo data too short");
      view.AddCoin(in->prevout, undo.spent[--next_undo]);
    }
  }
  if (next_undo != 0) throw StorageError("disconnect: undo data too long");
  view.Flush(index->prev->hash);
  for (const auto& [key, value] : undo.market) m_market->Write(key, value);
  m_chain.pop_back();
  if (m_options.notifications) m_options.notifications->BlockDisconnected(block, *index);
}

void Chainstate::MaybeFlush() {
  if (m_coins->MemoryUsage() + m_market->MemoryUsage() > m_options.coins_cache_bytes)
    m_coins->Flush(m_chain.back()->hash);
}

bool Chainstate::ReadBlockLocked(const BlockIndex& index, Block& block) const {
  if (!index.HaveData()) return false;
  auto bytes = m_db->Get(keys::WithHash(keys::kBlock, index.hash));
  if (!bytes) return false;
  if (consensus::DecodeBlock(AsSpan(*bytes), block) != consensus::DecodeError::kOk || block.Hash() != index.hash)
    throw StorageError("corrupt stored block " + index.hash.ToHex());
  return true;
}

bool Chainstate::ReadBlock(const BlockIndex& index, Block& block) const {
  std::lock_guard lock(m_mutex);
  return ReadBlockLocked(index, block);
}

const BlockIndex* Chainstate::Tip() const {
  std::lock_guard lock(m_mutex);
  return m_chain.back();
}

std::uint32_t Chainstate::Height() const {
  std::lock_guard lock(m_mutex);
  return m_chain.back()->height;
}

const BlockIndex* Chainstate::LookupBlockIndex(const crypto::Hash256& hash) const {
  std::lock_guard lock(m_mutex);
  return Find(hash);
}

const BlockIndex* Chainstate::ActiveAt(std::uint32_t height) const {
  std::lock_guard lock(m_mutex);
  return height < m_chain.size() ? m_chain[height] : nullptr;
}

bool Chainstate::IsActive(const BlockIndex* index) const {
  std::lock_guard lock(m_mutex);
  return index && index->height < m_chain.size() && m_chain[index->height] == index;
}

std::optional<Coin> Chainstate::GetCoin(const OutPoint& op) const {
  std::lock_guard lock(m_mutex);
  return m_coins->GetCoin(op);
}

void Chainstate::Flush() {
  std::lock_guard lock(m_mutex);
  m_coins->Flush(m_chain.back()->hash);
}

void Chainstate::ForEachCoin(const std::function<void(const OutPoint&, const Coin&)>& fn) {
  std::lock_guard lock(m_mutex);
  m_coins->Flush(m_chain.back()->hash);
  m_coins_db->ForEach(fn);
}

Chainstate::CoinStats Chainstate::ComputeCoinStats() {
  std::lock_guard lock(m_mutex);
  CoinStats stats;
  stats.height = m_chain.back()->height;
  stats.tip = m_chain.back()->hash;
  m_coins->Flush(stats.tip);
  // Sums stay far below 2^63: a valid chain never holds more than kMaxMoney.
  m_coins_db->ForEach([&](const OutPoint&, const Coin& coin) {
    ++stats.coins;
    stats.total.units += coin.out.amount.units;
  });
  for (std::uint32_t h = 1; h <= stats.height; ++h) stats.subsidies.units += consensus::BlockSubsidy(h, m_params).units;
  const consensus::MarketGlobals g = consensus::MarketReader(*m_market, m_params).Globals();
  stats.grants.units = static_cast<std::int64_t>(g.grants_total);
  stats.rewards.units = static_cast<std::int64_t>(g.rewards_total);
  stats.pool.units = static_cast<std::int64_t>(g.PoolOutstanding());
  return stats;
}

std::size_t Chainstate::MarketCacheUsage() const {
  std::lock_guard lock(m_mutex);
  return m_market->MemoryUsage();
}

std::optional<consensus::Bytes> Chainstate::ReadMarket(const std::string& key) const {
  std::lock_guard lock(m_mutex);
  return m_market->Read(key);
}

void Chainstate::ForEachMarket(const std::string& prefix,
                               const std::function<void(const std::string& key, consensus::ByteSpan value)>& fn) {
  std::lock_guard lock(m_mutex);
  m_coins->Flush(m_chain.back()->hash);
  m_market_db->ForEach(prefix, fn);
}

std::optional<consensus::Bytes> ChainMarketStore::Read(const std::string& key) const { return m_cs.ReadMarket(key); }

std::size_t Chainstate::CoinsCacheUsage() const {
  std::lock_guard lock(m_mutex);
  return m_coins->MemoryUsage();
}

}  // namespace wattline::ledger
