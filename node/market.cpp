#include "node/market.h"

#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/market_rules.h"
#include "consensus/params.h"
#include "crypto/hex.h"
#include "node/node.h"
#include "node/wallet.h"

namespace wattline::node {

using consensus::MarketReader;
using Code = MarketError::Code;

namespace {

MarketError Fail(Code code, std::string message, std::string reject = {}) {
  return MarketError{code, std::move(message), std::move(reject)};
}

leveldb::Slice AsSlice(const consensus::Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

// --- ReadingIndex -------------------------------------------------------------------------------

namespace {
const std::string kIndexBest = "B";
std::string ReadingKey(const consensus::MeterId& meter, std::uint64_t start) {
  std::string k(1, 'r');
  k.append(reinterpret_cast<const char*>(meter.bytes.data()), 32);
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>((start >> shift) & 0xff));
  return k;
}
}  // namespace

ledger::Status ReadingIndex::Open(const std::filesystem::path& dir, ledger::Chainstate& chain,
                                  std::unique_ptr<ReadingIndex>& out) {
  std::unique_ptr<ledger::Database> db;
  ledger::Status s = ledger::Database::Open(dir, 2u << 20, db);
  if (!s.ok()) return s;
  auto index = std::unique_ptr<ReadingIndex>(new ReadingIndex(std::move(db)));
  try {
    index->CatchUp(chain);
  } catch (const ledger::StorageError& e) {
    return ledger::Status::Corruption(std::string("readingindex: ") + e.what());
  }
  out = std::move(index);
  return ledger::Status::Ok();
}

void ReadingIndex::CatchUp(ledger::Chainstate& chain) {
  const ledger::BlockIndex* best = chain.ActiveAt(0);
  if (auto v = m_db->Get(kIndexBest); v && v->size() == 32) {
    const ledger::BlockIndex* recorded =
        chain.LookupBlockIndex(crypto::Hash256::FromBytes({reinterpret_cast<const std::uint8_t*>(v->data()), 32}));
    if (recorded) best = recorded;
  }
  while (best && !chain.IsActive(best)) {
    consensus::Block block;
    if (chain.ReadBlock(*best, block)) BlockDisconnected(block, best->prev ? best->prev->hash : crypto::Hash256{});
    best = best->prev;
  }
  for (std::uint32_t h = best ? best->height + 1 : 0; h <= chain.Height(); ++h) {
    const ledger::BlockIndex* index = chain.ActiveAt(h);
    consensus::Block block;
    if (!index || !chain.ReadBlock(*index, block)) break;
    BlockConnected(block, h, index->hash);
  }
}

namespace {
template <typename Fn>
void ForEachReading(const consensus::Block& block, Fn&& fn) {
  for (const auto& tx : block.txs) {
    if (tx->record().kind != consensus::RecordKind::kReadings) continue;
    consensus::MarketRecord rec;
    if (consensus::DecodeMarketRecord(tx->record(), rec) != consensus::DecodeError::kOk) continue;
    for (const auto& r : std::get<consensus::ReadingBatch>(rec).readings) fn(*tx, r);
  }
}
}  // namespace

void ReadingIndex::BlockConnected(const consensus::Block& block, std::uint32_t height, const crypto::Hash256& hash) {
  std::lock_guard lock(m_mutex);
  leveldb::WriteBatch batch;
  ForEachReading(block, [&](const consensus::Transaction& tx, const consensus::Reading& r) {
    consensus::Bytes value;
    consensus::Writer w(value);
    w.U32(height);
    w.Hash(tx.txid());
    w.Raw(consensus::EncodeReading(r));
    batch.Put(ReadingKey(r.meter, r.start), AsSlice(value));
  });
  batch.Put(kIndexBest, leveldb::Slice(reinterpret_cast<const char*>(hash.data()), 32));
  m_db->Write(batch, /*sync=*/false);
}

void ReadingIndex::BlockDisconnected(const consensus::Block& block, const crypto::Hash256& prev_hash) {
  std::lock_guard lock(m_mutex);
  leveldb::WriteBatch batch;
  ForEachReading(block, [&](const consensus::Transaction&, const consensus::Reading& r) {
    batch.Delete(ReadingKey(r.meter, r.start));
  });
  batch.Put(kIndexBest, leveldb::Slice(reinterpret_cast<const char*>(prev_hash.data()), 32));
  m_db->Write(batch, /*sync=*/false);
}

std::vector<IndexedReading> ReadingIndex::List(const consensus::MeterId& meter, std::uint64_t from_start,
                                               std::size_t limit) const {
  std::lock_guard lock(m_mutex);
  std::vector<IndexedReading> out;
  std::string prefix(1, 'r');
  prefix.append(reinterpret_cast<const char*>(meter.bytes.data()), 32);
  m_db->ForEachWithPrefix(prefix, [&](std::string_view key, std::string_view value) {
    if (out.size() >= limit) return false;
    if (key.size() != prefix.size() + 8) throw ledger::StorageError("readingindex: corrupt key");
    consensus::Reader r({reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
    IndexedReading item;
    if (!r.U32(item.height) || !r.Hash(item.txid) || !consensus::DecodeReading(r, item.reading) || !r.ExpectEnd())
      throw ledger::StorageError("readingindex: corrupt entry");
    if (item.reading.start >= from_start) out.push_back(item);
    return true;
  });
  return out;
}

// --- BlobStore ----------------------------------------------------------------------------------

bool BlobStore::Put(consensus::ByteSpan data, consensus::Cid& cid, std::string& error) {
  if (data.size() > kMaxBlobSize) {
    error = "a blob holds at most " + std::to_string(kMaxBlobSize) + " bytes";
    return false;
  }
  cid = consensus::ComputeCid(data);
  std::error_code ec;
  std::filesystem::create_directories(m_dir, ec);
  const auto path = m_dir / consensus::CidToString(cid);
  if (std::filesystem::exists(path, ec)) {
    std::string ignored;
    if (Get(cid, ignored)) return true;  // already stored and intact
  }
  const auto tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    error = "cannot write the blob store " + m_dir.string();
    return false;
  }
  const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    error = "cannot write the blob store " + m_dir.string();
    return false;
  }
  return true;
}

std::optional<consensus::Bytes> BlobStore::Get(const consensus::Cid& cid, std::string& error) const {
  std::ifstream in(m_dir / consensus::CidToString(cid), std::ios::binary);
  if (!in) {
    error = "no blob " + consensus::CidToString(cid);
    return std::nullopt;
  }
  consensus::Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() > kMaxBlobSize || consensus::ComputeCid(data) != cid) {
    error = "the stored blob " + consensus::CidToString(cid) + " does not match its CID";
    return std::nullopt;
  }
  return data;
}

// --- Market -------------------------------------------------------------------------------------

Market::Market(Node& node) : m_node(node), m_blobs(node.datadir() / "blobs") {}

consensus::MarketGlobals Market::Globals() const {
  ledger::ChainMarketStore store(m_node.chainstate());
  return MarketReader(store, m_node.params()).Globals();
}

std::optional<consensus::MeterState> Market::Meter(const consensus::MeterId& meter) const {
  ledger::ChainMarketStore store(m_node.chainstate());
  return MarketReader(store, m_node.params()).Meter(meter);
}

std::vector<std::pair<consensus::MeterId, consensus::MeterState>> Market::Meters() const {
  std::vector<std::pair<consensus::MeterId, consensus::MeterState>> out;
  m_node.chainstate().ForEachMarket(std::string(1, consensus::market_keys::kMeter),
                                    [&](const std::string& key, consensus::ByteSpan value) {
                                      if (key.size() != 33) throw ledger::StorageError("corrupt meter key");
                                      consensus::MeterId id;
                                      std::copy(key.begin() + 1, key.end(), id.bytes.begin());
                                      consensus::MeterState s;
                                      if (consensus::DecodeMeterState(value, s) != consensus::DecodeError::kOk)
                                        throw ledger::StorageError("corrupt meter state");
                                      out.emplace_back(id, s);
                                    });
  return out;
}

std::uint64_t Market::Demand(std::uint32_t slot) const {
  ledger::ChainMarketStore store(m_node.chainstate());
  return MarketReader(store, m_node.params()).Demand(slot);
}

std::uint64_t Market::PriceOfSlot(std::uint32_t slot) const {
  ledger::ChainMarketStore store(m_node.chainstate());
  return MarketReader(store, m_node.params()).PriceOfSlot(slot);
}

std::uint64_t Market::OwnerRewards(const crypto::XOnlyPubKey& owner) const {
  ledger::ChainMarketStore store(m_node.chainstate());
  return MarketReader(store, m_node.params()).OwnerRewards(owner);
}

std::uint32_t Market::NextSlot() const {
  return consensus::SlotOfHeight(m_node.chainstate().Height() + 1, m_node.params());
}

MarketError Market::SubmitUtilityRecord(consensus::MarketRecord record, std::vector<consensus::TxOut> outputs,
                                        consensus::Amount minted, std::int64_t fee_rate, crypto::Hash256& txid) {
  if (!m_node.UtilityKey())
    return Fail(Code::kFailedPrecondition, "this node does not hold a utility key (start it with --utility-key FILE)");
  const consensus::MarketGlobals g = Globals();
  const std::uint32_t next = m_node.chainstate().Height() + 1;
  const crypto::XOnlyPubKey& in_force = g.UtilityKeyAt(next);
  if (*m_node.UtilityKey() != in_force)
    return Fail(Code::kFailedPrecondition, "this node's utility key is not the chain's utility key in force (" +
                                               crypto::HexEncode(in_force.span()) + ")");
  Wallet* wallet = m_node.wallet();
  if (!wallet) return Fail(Code::kFailedPrecondition, "the utility pays its records' fees from the node wallet: it is disabled");
  SendRequest request;
  request.outputs = std::move(outputs);
  request.minted = minted;
  request.fee_rate = fee_rate;
  const consensus::Params& params = m_node.params();
  request.record = [&, record](const consensus::OutPoint& first) mutable {
    const crypto::Hash256 msg = consensus::UtilitySigHash(params, first, record);
    consensus::SetUtilitySignature(record, m_node.SignAsUtility(msg));
    return consensus::MakeRecord(record);
  };
  Wallet::Result r = wallet->SendTransaction(request, txid);
  switch (r.error) {
    case Wallet::Error::kNone: return {};
    case Wallet::Error::kLocked:
    case Wallet::Error::kInsufficientFunds:
      return Fail(Code::kFailedPrecondition, r.message);
    case Wallet::Error::kBadAddress:
    case Wallet::Error::kBadAmount:
      return Fail(Code::kInvalidArgument, r.message);
    case Wallet::Error::kRejected: {
      // "the mempool refused the transaction: <code>[: detail]"
      std::string code = r.message;
      if (auto p = code.find(": "); p != std::string::npos) code = code.substr(p + 2);
      if (auto p = code.find(':'); p != std::string::npos) code = code.substr(0, p);
      return Fail(Code::kRejected, r.message, code);
    }
    case Wallet::Error::kNotFound:
    case Wallet::Error::kCorrupt:
    case Wallet::Error::kWrongPassphrase:
    case Wallet::Error::kIo:
    case Wallet::Error::kExists:
      return Fail(Code::kUnavailable, r.message);
  }
  return Fail(Code::kUnavailable, r.message);
}

MarketError Market::RegisterMeter(const consensus::MeterId& meter, const crypto::XOnlyPubKey& owner,
                                  consensus::MeterRole role, consensus::Amount grant, std::int64_t fee_rate,
                                  crypto::Hash256& txid) {
  if (!meter.IsValid()) return Fail(Code::kInvalidArgument, "the meter key is not a valid public key");
  if (!owner.IsValid()) return Fail(Code::kInvalidArgument, "the owner key is not a valid public key");
  if (grant.units < 0 || grant > m_node.params().max_grant_per_meter)
    return Fail(Code::kInvalidArgument, "a grant is between 0 and " +
                                            std::to_string(m_node.params().max_grant_per_meter.units) + " units");
  if (auto existing = Meter(meter); existing && existing->registered)
    return Fail(Code::kFailedPrecondition, "meter " + crypto::HexEncode(meter.span()) + " is registered already");
  if (auto pending = m_node.mempool().PendingMeter(meter); pending && pending->registered)
    return Fail(Code::kFailedPrecondition,
                "meter " + crypto::HexEncode(meter.span()) + " has a registration pending in the mempool");
  consensus::MeterRegistration reg;
  reg.meter = meter;
  reg.owner = owner;
  reg.role = role;
  reg.grant = static_cast<std::uint64_t>(grant.units);
  std::vector<consensus::TxOut> outputs;
  if (grant.units > 0) outputs.push_back({grant, consensus::Condition::Key(owner)});
  return SubmitUtilityRecord(reg, std::move(outputs), grant, fee_rate, txid);
}

MarketError Market::DeregisterMeter(const consensus::MeterId& meter, std::int64_t fee_rate, crypto::Hash256& txid) {
  auto existing = Meter(meter);
  if (!existing || !existing->registered)
    return Fail(Code::kFailedPrecondition, "meter " + crypto::HexEncode(meter.span()) + " is not registered");
  if (auto pending = m_node.mempool().PendingMeter(meter); !pending || !pending->registered)
    return Fail(Code::kFailedPrecondition,
                "meter " + crypto::HexEncode(meter.span()) + " has a deregistration pending in the mempool");
  consensus::MeterDeregistration dereg;
  dereg.meter = meter;
  return SubmitUtilityRecord(dereg, {}, consensus::Amount{0}, fee_rate, txid);
}

MarketError Market::SetCoefficients(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::int64_t fee_rate,
                                    crypto::Hash256& txid) {
  consensus::PriceCoefficients coef;
  coef.a = a;
  coef.b = b;
  coef.c = c;
  return SubmitUtilityRecord(coef, {}, consensus::Amount{0}, fee_rate, txid);
}

MarketError Market::RotateKey(const crypto::XOnlyPubKey& new_key, std::int64_t fee_rate, crypto::Hash256& txid) {
  if (!new_key.IsValid()) return Fail(Code::kInvalidArgument, "the new key is not a valid public key");
  if (m_node.UtilityKey() && new_key == *m_node.UtilityKey())
    return Fail(Code::kInvalidArgument, "the new key is the current key");
  consensus::UtilityKeyRotation rot;
  rot.new_key = new_key;
  return SubmitUtilityRecord(rot, {}, consensus::Amount{0}, fee_rate, txid);
}

MarketError Market::BuildReadingsTransaction(const consensus::ReadingBatch& batch, consensus::TransactionRef& tx) {
  if (batch.readings.empty() || batch.readings.size() > consensus::kMaxReadingsPerBatch)
    return Fail(Code::kInvalidArgument, "a batch has 1 to " + std::to_string(consensus::kMaxReadingsPerBatch) + " readings");
  std::vector<consensus::TxOut> outputs;
  consensus::ValidationState state;
  try {
    if (!m_node.mempool().ComputeReadingOutputs(batch, outputs, state))
      return Fail(Code::kRejected, "readings refused: " + state.ToString(), std::string(consensus::ReasonCode(state.reason())));
  } catch (const std::runtime_error& e) {
    return Fail(Code::kUnavailable, e.what());
  }
  consensus::MutableTransaction m;
  m.outputs = std::move(outputs);
  m.record = consensus::MakeRecord(batch);
  tx = consensus::MakeTransactionRef(std::move(m));
  return {};
}

MarketError Market::SubmitReadings(const consensus::ReadingBatch& batch, crypto::Hash256& txid,
                                   consensus::Amount& rewards) {
  consensus::TransactionRef tx;
  if (MarketError e = BuildReadingsTransaction(batch, tx); !e.ok()) {
    // A resubmission of a batch the pool already holds (a meter retrying after a lost reply)
    // is ALREADY_EXISTS with that transaction's id, not a duplicate-reading refusal.
    if (e.code == Code::kRejected) {
      if (auto pending = m_node.mempool().FindMarketRecord(consensus::MakeRecord(batch))) {
        txid = *pending;
        return Fail(Code::kRejected, "readings already pending in the mempool as " + txid.ToHex(),
                    "txn-already-in-mempool");
      }
    }
    return e;
  }
  MempoolReject reject;
  consensus::Amount fee;
  if (!m_node.SubmitTransaction(tx, reject, &fee)) {
    const std::string code = reject.policy.empty() ? std::string(consensus::ReasonCode(reject.state.reason())) : reject.policy;
    return Fail(Code::kRejected, "readings refused: " + reject.ToString(), code);
  }
  txid = tx->txid();
  rewards = consensus::Amount{0};
  for (const auto& o : tx->outputs()) rewards.units += o.amount.units;
  return {};
}

}  // namespace wattline::node
