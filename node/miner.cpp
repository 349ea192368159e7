#include "node/miner.h"

#include <chrono>

#include "consensus/market_rules.h"
#include "consensus/params.h"
#include "node/logging.h"
#include "node/node.h"

namespace wattline::node {

namespace {
std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

bool CreateBlockTemplate(Node& node, const consensus::Condition& payout, std::uint64_t extra_nonce,
                         BlockTemplate& out, std::string& error) {
  const auto& params = node.params();
  ledger::Chainstate& cs = node.chainstate();
  const ledger::BlockIndex* tip = cs.Tip();
  out = BlockTemplate{};
  out.height = tip->height + 1;
  out.mempool_sequence = node.mempool().Sequence();
  // Room for the header, the count and a generous coinbase.
  const std::size_t budget = consensus::kMaxBlockSize - consensus::kHeaderSize - 9 - 1000;
  auto entries = node.mempool().SelectForBlock(budget);
  consensus::Amount fees{0};
  for (const auto& e : entries) fees.units += e.fee.units;
  consensus::MutableTransaction cb;
  consensus::Bytes extra;
  consensus::Writer w(extra);
  w.U64(extra_nonce);
  cb.record = consensus::Record::Coinbase(out.height, extra);
  // The incentive pool pays the blocks of the slot after a penalty close (docs/channels.md).
  out.pool_share = consensus::PoolShareAt(ledger::ChainMarketStore(cs), params, out.height);
  cb.outputs.push_back(
      {consensus::Amount{consensus::BlockSubsidy(out.height, params).units + fees.units + out.pool_share.units}, payout});
  out.block.txs.push_back(consensus::MakeTransactionRef(std::move(cb)));
  for (auto& e : entries) out.block.txs.push_back(e.tx);
  out.fees = fees;
  const std::int64_t now = Node::Now();
  const auto ctx = cs.ContextFor(*tip, now);
  auto& h = out.block.header;
  h.version = consensus::kBlockVersion;
  h.prev_hash = tip->hash;
  h.bits = ctx.expected_bits;
  h.time = std::max<std::uint64_t>(static_cast<std::uint64_t>(now), ctx.median_time_past + 1);
  h.merkle_root = consensus::BlockMerkleRoot(out.block);
  h.nonce = 0;
  consensus::ValidationState state;
  if (!cs.TestBlockValidity(out.block, now, /*check_pow=*/false, state)) {
    error = "block template is invalid: " + state.ToString();
    return false;
  }
  return true;
}

bool SolveHeader(consensus::BlockHeader& header, std::uint64_t max_tries, const std::atomic<bool>* stop) {
  auto target = consensus::CompactToTarget(header.bits);
  if (!target) return false;
  const crypto::Hash256 target_hash = consensus::NumberToHash(*target);
  auto bytes = header.Encode();
  crypto::Sha256 midstate;
  midstate.Write(bytes.data(), 64);
  // Bytes 80..87 are the nonce (little-endian).
  for (std::uint64_t i = 0; i < max_tries; ++i) {
    if (stop && (i & 0xffff) == 0 && stop->load(std::memory_order_relaxed)) return false;
    const std::uint64_t nonce = header.nonce + i;
    for (int b = 0; b < 8; ++b) bytes[80 + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(nonce >> (8 * b));
    crypto::Sha256 h = midstate;
    crypto::Hash256 first = h.Write(bytes.data() + 64, consensus::kHeaderSize - 64).Finalize();
    crypto::Hash256 hash = crypto::Sha256().Write(first.span()).Finalize();
    // Big-endian comparison of bytes is the numeric comparison.
    if (hash <= target_hash) {
      header.nonce = nonce;
      return true;
    }
  }
  header.nonce += max_tries;
  return false;
}

Miner::Miner(Node& node) : m_node(node) {}

Miner::~Miner() { Stop(); }

void Miner::Start(unsigned threads, const consensus::Condition& payout) {
  Stop();
  std::lock_guard lock(m_mutex);
  m_payout = payout;
  m_stop = false;
  m_hashes = 0;
  m_started_ms = SteadyMs();
  for (unsigned i = 0; i < threads; ++i) m_threads.emplace_back([this, i] { Work(i); });
  Log(Category::kMining)->info("miner started with {} thread(s)", threads);
}

void Miner::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
    threads = std::move(m_threads);
    m_threads.clear();
  }
  for (auto& t : threads) t.join();
  if (!threads.empty()) Log(Category::kMining)->info("miner stopped");
}

MinerInfo Miner::Info() const {
  std::lock_guard lock(m_mutex);
  MinerInfo info;
  info.running = !m_threads.empty();
  info.threads = static_cast<unsigned>(m_threads.size());
  info.hashes = m_hashes.load();
  info.blocks_found = m_blocks.load();
  const double seconds = static_cast<double>(SteadyMs() - m_started_ms) / 1000.0;
  info.hashes_per_second = info.running && seconds > 0 ? static_cast<double>(info.hashes) / seconds : 0;
  return info;
}

void Miner::Work(unsigned thread_index) {
  std::uint64_t extra = (static_cast<std::uint64_t>(thread_index) << 48) | static_cast<std::uint64_t>(SteadyMs() & 0xffffffffffff);
  while (!m_stop) {
    BlockTemplate tmpl;
    std::string error;
    const crypto::Hash256 tip_before = m_node.chainstate().Tip()->hash;
    if (!CreateBlockTemplate(m_node, m_payout, extra++, tmpl, error)) {
      // A new tip while the template was checked is a race, not a problem: build again.
      if (m_node.chainstate().Tip()->hash != tip_before) continue;
      Log(Category::kMining)->warn("{}", error);
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    const std::int64_t built = SteadyMs();
    const crypto::Hash256 tip = tmpl.block.header.prev_hash;
    while (!m_stop) {
      constexpr std::uint64_t kBatch = 1 << 16;
      const bool found = SolveHeader(tmpl.block.header, kBatch, &m_stop);
      m_hashes += kBatch;
      if (found) {
        consensus::ValidationState state;
        if (m_node.SubmitBlock(tmpl.block, state)) {
          ++m_blocks;
          Log(Category::kMining)->info("mined block {} at height {}", tmpl.block.Hash().ToHex(), tmpl.height);
        } else {
          Log(Category::kMining)->warn("mined block refused: {}", state.ToString());
        }
        break;
      }
      // Rebuild on a new tip or new transactions, and at least every 5 s for a fresh time.
      if (m_node.chainstate().Tip()->hash != tip || m_node.mempool().Sequence() != tmpl.mempool_sequence ||
          SteadyMs() - built > 5000)
        break;
      if (tmpl.block.header.nonce > UINT64_MAX - 2 * kBatch) break;
    }
  }
}

}  // namespace wattline::node
