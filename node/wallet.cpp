#include "node/wallet.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <set>

#include "consensus/tx_verify.h"
#include "crypto/random.h"
#include "node/address.h"
#include "node/wallet_file.h"

// Design notes (docs/node-wallet.md has the full page):
// - The file holds the public keys, so a locked wallet still recognises its outputs. The seed
//   and the scrypt-derived file key live in memory only while unlocked and are wiped on Lock
//   (or lazily, on the first call after the timeout).
// - Chain tracking keeps every wallet output ever confirmed with the transaction that spent it
//   in a block, so a disconnected block is undone exactly (outputs removed, spends cleared)
//   without undo data. Its non-coinbase transactions become pending again: the node returns
//   them to the mempool, and calls TransactionRemoved for those it refuses.
// - The wallet never calls WalletChain while holding its lock: the node may deliver chain
//   events while holding chainstate or mempool locks, and SubmitTransaction may call back
//   into TransactionAdded.

namespace wattline::node {

using consensus::Amount;
using consensus::OutPoint;
using consensus::TransactionRef;
using consensus::TxOut;
using wallet_file::Secret32;

namespace {

/** Fees never go below this rate (units per 1000 bytes), whatever the caller or mempool say. */
constexpr std::int64_t kFeeRateFloor = 1000;
/** Change below this is left to the fee rather than creating an output that costs more to spend. */
constexpr std::int64_t kDustThreshold = 1000;
/** The largest fee rate accepted: keeps rate * size within 64 bits (size <= kMaxTxSize). */
constexpr std::int64_t kMaxFeeRate = consensus::kMaxMoney.units / static_cast<std::int64_t>(consensus::kMaxTxSize);
/** Wallet files above this are refused before parsing (kMaxKeys keys fit well within). */
constexpr std::size_t kMaxFileBytes = wallet_file::kHeaderSize + 32 * wallet_file::kMaxKeys + wallet_file::kTrailerSize;

const crypto::TaggedHasher& KeyHasher() {
  static const crypto::TaggedHasher hasher{"wattline/wallet-key"};
  return hasher;
}

/** The candidate secret for counter i: TaggedHash("wattline/wallet-key", seed || u32le i). */
std::optional<crypto::SecretKey> KeyCandidate(const Secret32& seed, std::uint32_t i) {
  std::array<std::uint8_t, 36> msg{};
  std::copy(seed.begin(), seed.end(), msg.begin());
  for (int b = 0; b < 4; ++b) msg[32 + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(i >> (8 * b));
  crypto::Hash256 h = KeyHasher().Hash(msg);
  auto key = crypto::SecretKey::FromBytes(h.bytes);
  OPENSSL_cleanse(msg.data(), msg.size());
  OPENSSL_cleanse(h.bytes.data(), h.bytes.size());
  return key;
}

std::int64_t WallClockSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatAmount(std::int64_t units) {
  const bool neg = units < 0;
  const std::uint64_t u = neg ? static_cast<std::uint64_t>(-(units + 1)) + 1 : static_cast<std::uint64_t>(units);
  std::string frac = std::to_string(u % static_cast<std::uint64_t>(consensus::kCoin));
  frac.insert(0, 8 - frac.size(), '0');
  return (neg ? "-" : "") + std::to_string(u / static_cast<std::uint64_t>(consensus::kCoin)) + "." + frac +
         " (" + std::to_string(units) + " units)";
}

Wallet::Result Ok() { return {}; }
Wallet::Result Fail(Wallet::Error e, std::string msg) { return {e, std::move(msg)}; }

Wallet::Error FromIo(wallet_file::IoError e) {
  switch (e) {
    case wallet_file::IoError::kNone: return Wallet::Error::kNone;
    case wallet_file::IoError::kNotFound: return Wallet::Error::kNotFound;
    case wallet_file::IoError::kIo: return Wallet::Error::kIo;
    case wallet_file::IoError::kExists: return Wallet::Error::kExists;
    case wallet_file::IoError::kTooLarge: return Wallet::Error::kCorrupt;
  }
  return Wallet::Error::kIo;
}

/** A confirmed output paying one of the wallet's keys. */
struct WalletCoin {
  TxOut out;
  std::uint32_t height = 0;
  bool coinbase = false;
  std::optional<crypto::Hash256> spent_by;  //!< the transaction that spent it in the active chain
};

/** What the active chain told the wallet. Rebuilt from scratch by Rescan. */
struct ChainTrack {
  std::map<OutPoint, WalletCoin> coins;
  std::vector<WalletTxRecord> history;  //!< confirmed, in chain order
  std::map<std::uint32_t, crypto::Hash256> blocks;  //!< recent connected blocks (for Rescan's replay)
  std::uint32_t height = 0;
};

constexpr std::uint32_t kRecentBlocks = 2000;

struct PendingTx {
  TransactionRef tx;
  std::int64_t time = 0;
  std::uint64_t seq = 0;
};

struct ChainEvent {
  bool connected = true;
  consensus::Block block;
  std::uint32_t height = 0;
};

}  // namespace

struct Wallet::Impl {
  Impl(const consensus::Params& p, WalletChain& c, std::filesystem::path file, WalletOptions o)
      : params(p), chain(c), path(std::move(file)), options(std::move(o)) {}
  ~Impl() { WipeSecrets(); }

  const consensus::Params& params;
  WalletChain& chain;
  const std::filesystem::path path;
  const WalletOptions options;

  mutable std::mutex mutex;
  wallet_file::Contents contents;                    //!< equals the file on disk
  std::map<crypto::XOnlyPubKey, std::uint32_t> key_index;

  // Unlocked state; mutable because any call may find the timeout passed and wipe it.
  mutable bool unlocked = false;
  mutable std::optional<std::chrono::steady_clock::time_point> deadline;
  mutable Secret32 seed{};
  mutable Secret32 file_key{};
  mutable std::vector<crypto::SecretKey> secrets;  //!< secrets[i] is key i
  mutable std::uint32_t next_counter = 0;         //!< derivation counter after the last key

  ChainTrack track;
  std::map<crypto::Hash256, PendingTx> pending;
  std::uint64_t next_seq = 0;
  std::set<OutPoint> reserved;  //!< inputs of a Send being submitted

  std::mutex rescan_mutex;  //!< one Rescan at a time (taken before `mutex`, never while holding it)
  bool rescanning = false;
  std::vector<ChainEvent> queued;  //!< chain events seen during a rescan

  std::chrono::steady_clock::time_point Now() const {
    return options.clock ? options.clock() : std::chrono::steady_clock::now();
  }

  void WipeSecrets() const {
    OPENSSL_cleanse(seed.data(), seed.size());
    OPENSSL_cleanse(file_key.data(), file_key.size());
    secrets.clear();  // SecretKey wipes itself
    unlocked = false;
    deadline.reset();
    next_counter = 0;
  }

  /** Called at the top of every public method, under the lock. */
  void MaybeRelock() const {
    if (unlocked && deadline && Now() >= *deadline) WipeSecrets();
  }

  void IndexKeys() {
    key_index.clear();
    for (std::uint32_t i = 0; i < contents.keys.size(); ++i) key_index.emplace(contents.keys[i], i);
  }

  bool IsMine(const consensus::Condition& c) const {
    return c.type == consensus::ConditionType::kKey && c.keys.size() == 1 && key_index.count(c.keys[0]) > 0;
  }

  /** Derives keys until there are `count`, continuing from next_counter. */
  void DeriveTo(std::size_t count) const {
    while (secrets.size() < count) {
      auto k = KeyCandidate(seed, next_counter++);
      if (k) secrets.push_back(*k);  // else: the next counter (probability ~2^-128)
    }
  }

  /** Writes contents with one more key (derived from the seed); needs the wallet unlocked. */
  Result AddKey(crypto::XOnlyPubKey& key) {
    DeriveTo(contents.keys.size() + 1);
    wallet_file::Contents next = contents;
    key = secrets[next.keys.size()].PubKey();
    next.keys.push_back(key);
    crypto::GetRandomBytes(next.nonce);
    std::string error;
    if (!wallet_file::EncryptSeed(file_key, seed, next, error)) return Fail(Error::kIo, error);
    const auto bytes = wallet_file::Serialize(next);
    const auto io = wallet_file::WriteFileAtomic(path, bytes, /*no_clobber=*/false, error);
    if (io != wallet_file::IoError::kNone) return Fail(FromIo(io), "cannot save the wallet: " + error);
    contents = std::move(next);
    key_index.emplace(key, static_cast<std::uint32_t>(contents.keys.size() - 1));
    return Ok();
  }

  // --- chain tracking -------------------------------------------------------------------

  void ApplyConnect(ChainTrack& t, const consensus::Block& block, std::uint32_t height) const {
    for (const auto& tx : block.txs) {
      std::int64_t in = 0;
      std::int64_t out = 0;
      bool touches = false;
      for (const auto& input : tx->inputs()) {
        auto it = t.coins.find(input.prevout);
        if (it != t.coins.end() && !it->second.spent_by) {
          in += it->second.out.amount.units;
          it->second.spent_by = tx->txid();
          touches = true;
        }
      }
      for (std::uint32_t i = 0; i < tx->outputs().size(); ++i) {
        const auto& o = tx->outputs()[i];
        if (!IsMine(o.condition)) continue;
        t.coins[OutPoint{tx->txid(), i}] = WalletCoin{o, height, tx->IsCoinbase(), std::nullopt};
        out += o.amount.units;
        touches = true;
      }
      if (touches)
        t.history.push_back(WalletTxRecord{tx->txid(), out - in, height, tx->IsCoinbase(),
                                           static_cast<std::int64_t>(block.header.time)});
    }
    t.blocks[height] = block.Hash();
    while (!t.blocks.empty() && t.blocks.begin()->first + kRecentBlocks < height) t.blocks.erase(t.blocks.begin());
    t.height = height;
  }

  /** Undoes a connected block; returns its wallet transactions that are not coinbases. */
  std::vector<TransactionRef> ApplyDisconnect(ChainTrack& t, const consensus::Block& block,
                                              std::uint32_t height) const {
    std::set<crypto::Hash256> touched;
    while (!t.history.empty() && t.history.back().height == height) {
      if (!t.history.back().coinbase) touched.insert(t.history.back().txid);
      t.history.pop_back();
    }
    std::vector<TransactionRef> back_to_pool;
    for (auto it = block.txs.rbegin(); it != block.txs.rend(); ++it) {
      const auto& tx = *it;
      for (std::uint32_t i = 0; i < tx->outputs().size(); ++i) t.coins.erase(OutPoint{tx->txid(), i});
      for (const auto& input : tx->inputs()) {
        auto c = t.coins.find(input.prevout);
        if (c != t.coins.end() && c->second.spent_by == tx->txid()) c->second.spent_by.reset();
      }
      if (touched.count(tx->txid())) back_to_pool.push_back(tx);
    }
    std::reverse(back_to_pool.begin(), back_to_pool.end());
    t.blocks.erase(height);
    t.height = height > 0 ? height - 1 : 0;
    return back_to_pool;
  }

  // --- pending (mempool) transactions ----------------------------------------------------

  /** Our output at op when a pending transaction created it. */
  const TxOut* PendingOutput(const OutPoint& op) const {
    auto it = pending.find(op.txid);
    if (it == pending.end() || op.index >= it->second.tx->outputs().size()) return nullptr;
    const TxOut& o = it->second.tx->outputs()[op.index];
    return IsMine(o.condition) ? &o : nullptr;
  }

  /** The value of our coin at op, confirmed or pending; nullopt when op is not ours. */
  std::optional<std::int64_t> OurValue(const OutPoint& op) const {
    if (auto it = track.coins.find(op); it != track.coins.end()) return it->second.out.amount.units;
    if (const TxOut* o = PendingOutput(op)) return o->amount.units;
    return std::nullopt;
  }

  bool Touches(const consensus::Transaction& tx) const {
    for (const auto& o : tx.outputs())
      if (IsMine(o.condition)) return true;
    for (const auto& in : tx.inputs())
      if (OurValue(in.prevout)) return true;
    return false;
  }

  void AddPending(const TransactionRef& tx) {
    if (pending.count(tx->txid())) return;
    pending.emplace(tx->txid(), PendingTx{tx, WallClockSeconds(), next_seq++});
  }

  /** Removes a pending transaction and every pending transaction spending its outputs. */
  void RemovePending(const crypto::Hash256& txid) {
    if (pending.erase(txid) == 0) return;
    std::vector<crypto::Hash256> children;
    for (const auto& [id, p] : pending)
      for (const auto& in : p.tx->inputs())
        if (in.prevout.txid == txid) {
          children.push_back(id);
          break;
        }
    for (const auto& c : children) RemovePending(c);
  }

  /** After a block: drop pending transactions it confirmed or conflicts with. */
  void PrunePending(const consensus::Block& block) {
    std::set<OutPoint> spent;
    for (const auto& tx : block.txs) {
      RemovePending(tx->txid());
      for (const auto& in : tx->inputs()) spent.insert(in.prevout);
    }
    std::vector<crypto::Hash256> conflicts;
    for (const auto& [id, p] : pending)
      for (const auto& in : p.tx->inputs())
        if (spent.count(in.prevout)) {
          conflicts.push_back(id);
          break;
        }
    for (const auto& c : conflicts) RemovePending(c);
  }

  bool Mature(const WalletCoin& c) const {
    return !c.coinbase || track.height + 1 - c.height >= params.coinbase_maturity;
  }

  struct Candidate {
    OutPoint op;
    TxOut out;
  };

  /**
   * Coins Send may use: confirmed, mature and unspent, plus our outputs of pending
   * transactions whose inputs are all ours (our own change); none spent by a pending
   * transaction or reserved by a Send in progress.
   */
  std::vector<Candidate> Spendable() const {
    std::set<OutPoint> pending_spent;
    for (const auto& [id, p] : pending)
      for (const auto& in : p.tx->inputs()) pending_spent.insert(in.prevout);
    std::vector<Candidate> out;
    for (const auto& [op, c] : track.coins)
      if (!c.spent_by && Mature(c) && !pending_spent.count(op) && !reserved.count(op)) out.push_back({op, c.out});
    for (const auto& [id, p] : pending) {
      bool from_me = !p.tx->inputs().empty();
      for (const auto& in : p.tx->inputs()) from_me = from_me && OurValue(in.prevout).has_value();
      if (!from_me) continue;
      for (std::uint32_t i = 0; i < p.tx->outputs().size(); ++i) {
        const OutPoint op{id, i};
        if (IsMine(p.tx->outputs()[i].condition) && !pending_spent.count(op) && !reserved.count(op))
          out.push_back({op, p.tx->outputs()[i]});
      }
    }
    return out;
  }

  Result Decrypt(const std::string& passphrase, const wallet_file::Contents& c, Secret32& key,
                 Secret32& plain) const {
    std::string error;
    if (!wallet_file::DeriveKey(passphrase, c.scrypt, c.salt, key, error)) return Fail(Error::kIo, error);
    if (!wallet_file::DecryptSeed(key, c, plain))
      return Fail(Error::kWrongPassphrase,
                  "wrong passphrase (the file's checksum is intact, so the file itself is not damaged)");
    return Ok();
  }
};

// --- creation and opening ----------------------------------------------------------------

Wallet::Wallet(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Wallet::~Wallet() = default;

Wallet::Result Wallet::Create(const std::filesystem::path& path, const std::string& passphrase,
                              const consensus::Params& params, WalletChain& chain, std::unique_ptr<Wallet>& out) {
  return Create(path, passphrase, params, chain, out, WalletOptions{});
}

Wallet::Result Wallet::Open(const std::filesystem::path& path, const consensus::Params& params, WalletChain& chain,
                            std::unique_ptr<Wallet>& out) {
  return Open(path, params, chain, out, WalletOptions{});
}

Wallet::Result Wallet::Create(const std::filesystem::path& path, const std::string& passphrase,
                              const consensus::Params& params, WalletChain& chain, std::unique_ptr<Wallet>& out,
                              const WalletOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(path, ec)))
    return Fail(Error::kExists, "a wallet file already exists at " + path.string());
  auto impl = std::make_unique<Impl>(params, chain, path, options);
  wallet_file::Contents& c = impl->contents;
  c.network = params.network;
  c.scrypt.log2_n = options.scrypt_log2_n;
  std::string error;
  if (!wallet_file::ScryptParamsValid(c.scrypt, &error)) return Fail(Error::kBadAmount, error);
  crypto::GetRandomBytes(c.salt);
  crypto::GetRandomBytes(c.nonce);
  crypto::GetRandomBytes(impl->seed);
  impl->DeriveTo(1);
  c.keys.push_back(impl->secrets[0].PubKey());
  if (!wallet_file::DeriveKey(passphrase, c.scrypt, c.salt, impl->file_key, error) ||
      !wallet_file::EncryptSeed(impl->file_key, impl->seed, c, error))
    return Fail(Error::kIo, error);
  const auto bytes = wallet_file::Serialize(c);
  const auto io = wallet_file::WriteFileAtomic(path, bytes, /*no_clobber=*/true, error);
  if (io != wallet_file::IoError::kNone) return Fail(FromIo(io), error);
  impl->WipeSecrets();  // a new wallet starts locked, like an opened one
  impl->IndexKeys();
  // A fresh seed has no history: start watching at the current tip instead of scanning.
  impl->track.height = chain.TipHeight();
  out.reset(new Wallet(std::move(impl)));
  return Ok();
}

namespace {

Wallet::Result ReadContents(const std::filesystem::path& path, const consensus::Params& params,
                            std::optional<wallet_file::Contents>& contents) {
  std::vector<std::uint8_t> bytes;
  std::string error;
  const auto io = wallet_file::ReadFile(path, kMaxFileBytes, bytes, error);
  if (io != wallet_file::IoError::kNone) return Fail(FromIo(io), error);
  contents = wallet_file::Parse(bytes, error);
  if (!contents) return Fail(Wallet::Error::kCorrupt, "wallet file " + path.string() + " is corrupt: " + error);
  if (contents->network != params.network)
    return Fail(Wallet::Error::kCorrupt, "wallet file " + path.string() + " belongs to network " +
                                             std::string{consensus::NetworkName(contents->network)} + ", not " +
                                             std::string{consensus::NetworkName(params.network)});
  return Ok();
}

}  // namespace

Wallet::Result Wallet::Check(const std::filesystem::path& path, const consensus::Params& params) {
  std::optional<wallet_file::Contents> contents;
  return ReadContents(path, params, contents);
}

Wallet::Result Wallet::Open(const std::filesystem::path& path, const consensus::Params& params, WalletChain& chain,
                            std::unique_ptr<Wallet>& out, const WalletOptions& options) {
  std::optional<wallet_file::Contents> contents;
  if (auto r = ReadContents(path, params, contents); !r.ok()) return r;
  auto impl = std::make_unique<Impl>(params, chain, path, options);
  impl->contents = std::move(*contents);
  impl->IndexKeys();
  out.reset(new Wallet(std::move(impl)));
  out->Rescan();
  return Ok();
}

// --- locking -------------------------------------------------------------------------------

Wallet::Result Wallet::Unlock(const std::string& passphrase, std::chrono::seconds timeout) {
  if (timeout.count() < 0) return Fail(Error::kBadAmount, "the unlock timeout must not be negative");
  std::lock_guard lock(m_impl->mutex);
  Impl& w = *m_impl;
  w.MaybeRelock();
  Secret32 key{};
  Secret32 plain{};
  Result r = w.Decrypt(passphrase, w.contents, key, plain);
  if (!r.ok()) return r;
  w.WipeSecrets();
  w.seed = plain;
  w.file_key = key;
  OPENSSL_cleanse(plain.data(), plain.size());
  OPENSSL_cleanse(key.data(), key.size());
  w.DeriveTo(w.contents.keys.size());
  for (std::size_t i = 0; i < w.contents.keys.size(); ++i) {
    if (w.secrets[i].PubKey() != w.contents.keys[i]) {
      w.WipeSecrets();
      return Fail(Error::kCorrupt, "the seed does not derive public key " + std::to_string(i) + " of the file");
    }
  }
  w.unlocked = true;
  if (timeout.count() > 0) w.deadline = w.Now() + timeout;
  return Ok();
}

void Wallet::Lock() {
  std::lock_guard lock(m_impl->mutex);
  m_impl->WipeSecrets();
}

bool Wallet::IsLocked() const {
  std::lock_guard lock(m_impl->mutex);
  m_impl->MaybeRelock();
  return !m_impl->unlocked;
}

Wallet::Result Wallet::ChangePassphrase(const std::string& old_passphrase, const std::string& new_passphrase) {
  std::lock_guard lock(m_impl->mutex);
  Impl& w = *m_impl;
  w.MaybeRelock();
  Secret32 old_key{};
  Secret32 plain{};
  Result r = w.Decrypt(old_passphrase, w.contents, old_key, plain);
  OPENSSL_cleanse(old_key.data(), old_key.size());
  if (!r.ok()) return r;
  wallet_file::Contents next = w.contents;
  crypto::GetRandomBytes(next.salt);
  crypto::GetRandomBytes(next.nonce);
  Secret32 new_key{};
  std::string error;
  const bool ok = wallet_file::DeriveKey(new_passphrase, next.scrypt, next.salt, new_key, error) &&
                  wallet_file::EncryptSeed(new_key, plain, next, error);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!ok) {
    OPENSSL_cleanse(new_key.data(), new_key.size());
    return Fail(Error::kIo, error);
  }
  const auto io = wallet_file::WriteFileAtomic(w.path, wallet_file::Serialize(next), /*no_clobber=*/false, error);
  if (io != wallet_file::IoError::kNone) {
    OPENSSL_cleanse(new_key.data(), new_key.size());
    return Fail(FromIo(io), "cannot save the wallet: " + error);
  }
  w.contents = std::move(next);
  if (w.unlocked) w.file_key = new_key;
  OPENSSL_cleanse(new_key.data(), new_key.size());
  return Ok();
}

// --- keys ----------------------------------------------------------------------------------

Wallet::Result Wallet::NewAddress(std::string& address) {
  std::lock_guard lock(m_impl->mutex);
  Impl& w = *m_impl;
  w.MaybeRelock();
  if (!w.unlocked) return Fail(Error::kLocked, "the wallet is locked: unlock it to derive a new address");
  crypto::XOnlyPubKey key;
  Result r = w.AddKey(key);
  if (!r.ok()) return r;
  address = EncodeAddress(key, w.params.network);
  return Ok();
}

crypto::XOnlyPubKey Wallet::DefaultKey() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->contents.keys.front();
}

// --- balance and history -----------------------------------------------------------------

WalletBalance Wallet::Balance() const {
  std::lock_guard lock(m_impl->mutex);
  const Impl& w = *m_impl;
  w.MaybeRelock();
  WalletBalance b{};
  for (const auto& [op, c] : w.track.coins) {
    if (c.spent_by) continue;
    (w.Mature(c) ? b.confirmed : b.immature).units += c.out.amount.units;
  }
  for (const auto& [id, p] : w.pending) {
    for (const auto& o : p.tx->outputs())
      if (w.IsMine(o.condition)) b.pending.units += o.amount.units;
    for (const auto& in : p.tx->inputs())
      if (auto v = w.OurValue(in.prevout)) b.pending.units -= *v;
  }
  return b;
}

std::vector<WalletTxRecord> Wallet::History() const {
  std::lock_guard lock(m_impl->mutex);
  const Impl& w = *m_impl;
  w.MaybeRelock();
  std::vector<WalletTxRecord> out = w.track.history;
  std::vector<const PendingTx*> pend;
  for (const auto& [id, p] : w.pending) pend.push_back(&p);
  std::sort(pend.begin(), pend.end(), [](const PendingTx* a, const PendingTx* b) { return a->seq < b->seq; });
  for (const PendingTx* p : pend) {
    WalletTxRecord rec{p->tx->txid(), 0, std::nullopt, false, p->time};
    for (const auto& o : p->tx->outputs())
      if (w.IsMine(o.condition)) rec.delta += o.amount.units;
    for (const auto& in : p->tx->inputs())
      if (auto v = w.OurValue(in.prevout)) rec.delta -= *v;
    out.push_back(rec);
  }
  return out;
}

// --- sending -------------------------------------------------------------------------------

Wallet::Result Wallet::Send(const std::string& address, Amount amount, std::int64_t fee_rate, crypto::Hash256& txid) {
  Impl& w = *m_impl;
  std::string why;
  const auto payee = DecodeAddress(address, w.params.network, &why);
  if (!payee) return Fail(Error::kBadAddress, why);
  if (amount.units <= 0 || amount > consensus::kMaxMoney)
    return Fail(Error::kBadAmount, "amount must be above 0 and at most 21000000 coins, got " +
                                       std::to_string(amount.units) + " units");
  SendRequest request;
  request.outputs.push_back({amount, consensus::Condition::Key(*payee)});
  request.fee_rate = fee_rate;
  return SendTransaction(request, txid);
}

Wallet::Result Wallet::SendTransaction(const SendRequest& request, crypto::Hash256& txid) {
  Impl& w = *m_impl;
  const std::int64_t fee_rate = request.fee_rate;
  Amount out_total{0};
  for (const auto& o : request.outputs) {
    auto sum = consensus::CheckedAdd(out_total, o.amount);
    if (!sum) return Fail(Error::kBadAmount, "outputs above 21000000 coins");
    out_total = *sum;
  }
  if (!consensus::MoneyRange(request.minted) || request.minted > out_total)
    return Fail(Error::kBadAmount, "minted coins must be paid by the outputs");
  // What the inputs must cover besides the fee.
  const Amount amount{out_total.units - request.minted.units};
  if (fee_rate < 0 || fee_rate > kMaxFeeRate)
    return Fail(Error::kBadAmount, "fee rate must be between 0 and " + std::to_string(kMaxFeeRate) +
                                       " units per 1000 bytes, got " + std::to_string(fee_rate));
  // Asked before taking the lock: the mempool must never wait for the wallet's lock.
  const std::int64_t min_rate = std::clamp<std::int64_t>(w.chain.MinFeeRate(), 0, kMaxFeeRate);
  const std::int64_t rate = std::max({fee_rate, min_rate, kFeeRateFloor});
  auto fee_for = [rate](std::size_t size) {
    return (rate * static_cast<std::int64_t>(size) + 999) / 1000;  // rounded up
  };

  TransactionRef tx;
  std::vector<OutPoint> inputs;
  std::int64_t fee = 0;
  {
    std::lock_guard lock(w.mutex);
    w.MaybeRelock();
    if (!w.unlocked) return Fail(Error::kLocked, "the wallet is locked: unlock it to send");

    // Largest-first: fewest inputs, so the smallest transaction and fee; small coins stay
    // for later. Ties by outpoint for determinism.
    auto candidates = w.Spendable();
    std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
      return a.out.amount != b.out.amount ? a.out.amount > b.out.amount : a.op < b.op;
    });
    std::int64_t available = 0;
    for (const auto& c : candidates) available += c.out.amount.units;

    w.DeriveTo(w.contents.keys.size());

    auto build = [&](std::size_t n_inputs, std::int64_t change, const crypto::XOnlyPubKey& change_key) {
      consensus::MutableTransaction m;
      for (std::size_t i = 0; i < n_inputs; ++i) m.inputs.push_back({candidates[i].op, {}});
      m.outputs = request.outputs;
      if (request.record && n_inputs > 0) m.record = request.record(m.inputs[0].prevout);
      if (change > 0) m.outputs.push_back({Amount{change}, consensus::Condition::Key(change_key)});
      const crypto::Hash256 id = m.ComputeTxid();
      for (std::size_t i = 0; i < n_inputs; ++i) {
        const auto& spent = candidates[i].out;
        const auto msg = consensus::SignatureHash(w.params, id, static_cast<std::uint32_t>(i), spent);
        const crypto::SecretKey& key = w.secrets.at(w.key_index.at(spent.condition.keys[0]));
        m.inputs[i].satisfaction = consensus::Satisfaction::Sig(key.Sign(msg));
      }
      return consensus::MakeTransactionRef(std::move(m));
    };

    // Add inputs until they cover amount + the fee of the signed transaction. The fee depends
    // on the size, which depends on the inputs and on whether there is change: iterate (the
    // fee only grows, so this ends).
    std::size_t n = 0;
    std::int64_t selected = 0;
    std::int64_t change = 0;
    const crypto::XOnlyPubKey sizing_key = w.contents.keys.front();  // same size as any key
    for (;;) {
      // At least one input: it pays the fee, and utility records sign the first one.
      while ((selected < amount.units + fee || n == 0) && n < candidates.size())
        selected += candidates[n++].out.amount.units;
      if (n == 0) {  // nothing to spend: the fee is not known yet, so do not quote one
        const std::string why = " (coins received are spendable once confirmed; mined coins once mature)";
        if (amount.units == 0)
          return Fail(Error::kInsufficientFunds, "insufficient funds: the wallet has no spendable coin to pay the fee" + why);
        return Fail(Error::kInsufficientFunds, "insufficient funds: need " + FormatAmount(amount.units) +
                                                   " plus the fee, spendable 0, short by at least " +
                                                   FormatAmount(amount.units) + why);
      }
      if (selected < amount.units + fee) {
        return Fail(Error::kInsufficientFunds,
                    "insufficient funds: need " + FormatAmount(amount.units + fee) + " (amount " +
                        FormatAmount(amount.units) + " + fee " + FormatAmount(fee) + "), spendable " +
                        FormatAmount(available) + ", short by " + FormatAmount(amount.units + fee - available));
      }
      change = selected - amount.units - fee;
      if (change < kDustThreshold) change = 0;  // left to the fee
      const std::int64_t paid = selected - amount.units - change;
      const std::int64_t needed = fee_for(build(n, change, sizing_key)->size());
      if (paid >= needed && (change == 0 || paid == needed)) {
        fee = paid;
        break;
      }
      fee = needed;  // with change the fee is exactly `needed`; retry with it
    }

    crypto::XOnlyPubKey change_key;
    if (change > 0) {
      Result r = w.AddKey(change_key);  // a fresh key, saved before the transaction exists
      if (!r.ok()) return r;
    }
    tx = build(n, change, change_key);
    if (tx->size() > consensus::kMaxTxSize)
      return Fail(Error::kRejected, "the payment needs " + std::to_string(n) + " inputs, a transaction of " +
                                        std::to_string(tx->size()) + " bytes (the limit is " +
                                        std::to_string(consensus::kMaxTxSize) + "): send a smaller amount first");
    if (fee < fee_for(tx->size()))  // cannot happen: same shape as the sized one
      return Fail(Error::kRejected, "internal error: fee below the rate after signing");
    for (std::size_t i = 0; i < n; ++i) {
      inputs.push_back(candidates[i].op);
      w.reserved.insert(candidates[i].op);
    }
  }

  std::string error;
  const bool accepted = w.chain.SubmitTransaction(tx, error);  // without the lock: may call TransactionAdded
  std::lock_guard lock(w.mutex);
  for (const auto& op : inputs) w.reserved.erase(op);
  if (!accepted) return Fail(Error::kRejected, "the mempool refused the transaction: " + error);
  w.AddPending(tx);
  txid = tx->txid();
  (void)fee;
  return Ok();
}

// --- channel funding ---------------------------------------------------------------------

Wallet::Result Wallet::ReserveCoins(Amount amount, std::vector<std::pair<OutPoint, TxOut>>& coins,
                                    std::optional<TxOut>& change) {
  Impl& w = *m_impl;
  std::lock_guard lock(w.mutex);
  w.MaybeRelock();
  if (!w.unlocked) return Fail(Error::kLocked, "the wallet is locked: unlock it to fund a channel");
  if (amount.units <= 0 || amount > consensus::kMaxMoney) return Fail(Error::kBadAmount, "amount out of range");
  auto candidates = w.Spendable();
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.out.amount != b.out.amount ? a.out.amount > b.out.amount : a.op < b.op;
  });
  std::int64_t selected = 0;
  std::size_t n = 0;
  while (selected < amount.units && n < candidates.size() && n < 32) selected += candidates[n++].out.amount.units;
  if (selected < amount.units)
    return Fail(Error::kInsufficientFunds, "insufficient funds: need " + FormatAmount(amount.units) +
                                               " in at most 32 spendable coins, found " + FormatAmount(selected));
  change.reset();
  if (selected > amount.units) {
    crypto::XOnlyPubKey key;
    Result r = w.AddKey(key);
    if (!r.ok()) return r;
    change = TxOut{Amount{selected - amount.units}, consensus::Condition::Key(key)};
  }
  coins.clear();
  for (std::size_t i = 0; i < n; ++i) {
    coins.emplace_back(candidates[i].op, candidates[i].out);
    w.reserved.insert(candidates[i].op);
  }
  return Ok();
}

void Wallet::ReleaseCoins(const std::vector<OutPoint>& coins) {
  std::lock_guard lock(m_impl->mutex);
  for (const auto& op : coins) m_impl->reserved.erase(op);
}

Wallet::Result Wallet::SignInputs(const consensus::MutableTransaction& tx, std::size_t first, std::size_t count,
                                  std::vector<crypto::Signature>& sigs) {
  Impl& w = *m_impl;
  std::lock_guard lock(w.mutex);
  w.MaybeRelock();
  if (!w.unlocked) return Fail(Error::kLocked, "the wallet is locked: unlock it to sign");
  if (first + count > tx.inputs.size()) return Fail(Error::kBadAmount, "no such input");
  const crypto::Hash256 txid = tx.ComputeTxid();
  sigs.clear();
  for (std::size_t i = first; i < first + count; ++i) {
    const OutPoint& op = tx.inputs[i].prevout;
    const TxOut* out = nullptr;
    if (auto it = w.track.coins.find(op); it != w.track.coins.end()) out = &it->second.out;
    if (!out) out = w.PendingOutput(op);
    if (!out || out->condition.type != consensus::ConditionType::kKey || !w.key_index.count(out->condition.keys[0]))
      return Fail(Error::kNotFound, "input " + std::to_string(i) + " is not a coin of this wallet");
    const auto& key = w.secrets.at(w.key_index.at(out->condition.keys[0]));
    sigs.push_back(key.Sign(consensus::SignatureHash(w.params, txid, static_cast<std::uint32_t>(i), *out)));
  }
  return Ok();
}

Wallet::Result Wallet::SignWithDefaultKey(const crypto::Hash256& msg, crypto::Signature& sig) {
  Impl& w = *m_impl;
  std::lock_guard lock(w.mutex);
  w.MaybeRelock();
  if (!w.unlocked) return Fail(Error::kLocked, "the wallet is locked: unlock it to sign");
  sig = w.secrets.at(0).Sign(msg);
  return Ok();
}

// --- chain events --------------------------------------------------------------------------

void Wallet::Rescan() {
  Impl& w = *m_impl;
  std::lock_guard rescan_lock(w.rescan_mutex);
  {
    std::lock_guard lock(w.mutex);
    w.rescanning = true;
    w.queued.clear();
  }
  // Scanned without the lock (the chain may hold its own lock while it calls us back), into a
  // fresh track; events that arrive meanwhile are applied to the old track and queued.
  ChainTrack fresh;
  w.chain.ForEachActiveBlock(0, [&](const consensus::Block& block, std::uint32_t height) {
    std::lock_guard lock(w.mutex);  // IsMine reads the key index
    w.ApplyConnect(fresh, block, height);
  });
  std::lock_guard lock(w.mutex);
  for (const ChainEvent& e : w.queued) {
    const auto hash = e.block.Hash();
    auto it = fresh.blocks.find(e.height);
    if (e.connected) {
      if (it != fresh.blocks.end() && it->second == hash) continue;  // the scan saw it
      if (fresh.height + 1 == e.height) w.ApplyConnect(fresh, e.block, e.height);
    } else if (fresh.height == e.height && it != fresh.blocks.end() && it->second == hash) {
      for (const auto& tx : w.ApplyDisconnect(fresh, e.block, e.height)) w.AddPending(tx);
    }
  }
  w.queued.clear();
  w.rescanning = false;
  w.track = std::move(fresh);
  for (const auto& rec : w.track.history) w.pending.erase(rec.txid);
}

void Wallet::BlockConnected(const consensus::Block& block, std::uint32_t height) {
  std::lock_guard lock(m_impl->mutex);
  Impl& w = *m_impl;
  w.MaybeRelock();
  if (w.rescanning) w.queued.push_back({true, block, height});
  w.ApplyConnect(w.track, block, height);
  w.PrunePending(block);
}

void Wallet::BlockDisconnected(const consensus::Block& block, std::uint32_t height) {
  std::lock_guard lock(m_impl->mutex);
  Impl& w = *m_impl;
  w.MaybeRelock();
  if (w.rescanning) w.queued.push_back({false, block, height});
  for (const auto& tx : w.ApplyDisconnect(w.track, block, height)) w.AddPending(tx);
}

void Wallet::TransactionAdded(const TransactionRef& tx) {
  std::lock_guard lock(m_impl->mutex);
  Impl& w = *m_impl;
  w.MaybeRelock();
  if (w.Touches(*tx)) w.AddPending(tx);
}

void Wallet::TransactionRemoved(const crypto::Hash256& txid) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->MaybeRelock();
  m_impl->RemovePending(txid);
}

}  // namespace wattline::node
