#include "tests/unit/channels/channel_net.h"

#include <filesystem>

namespace wattline::test {

using namespace consensus;

// --- Party -----------------------------------------------------------------------------------

const Params& Party::params() const { return m_net.params; }
std::uint32_t Party::TipHeight() const { return m_net.cs->Height(); }
std::uint64_t Party::TipTime() const { return m_net.cs->Tip()->header.time; }

std::vector<Reading> Party::CountedReadings(const MeterId& meter, std::uint64_t from_start, std::size_t limit) const {
  std::vector<Reading> out;
  for (std::uint32_t h = 0; h <= m_net.cs->Height() && out.size() < limit; ++h) {
    Block block;
    EXPECT_TRUE(m_net.cs->ReadBlock(*m_net.cs->ActiveAt(h), block));
    for (const auto& tx : block.txs) {
      MarketRecord rec;
      if (tx->record().kind != RecordKind::kReadings || DecodeMarketRecord(tx->record(), rec) != DecodeError::kOk) continue;
      for (const Reading& r : std::get<ReadingBatch>(rec).readings)
        if (r.meter == meter && r.start >= from_start && out.size() < limit) out.push_back(r);
    }
  }
  return out;
}
MarketGlobals Party::Globals() const { return m_net.Reader().Globals(); }
std::optional<ChannelState> Party::OnChain(const ChannelId& id) const { return m_net.Reader().Channel(id); }

bool Party::Broadcast(const MutableTransaction& mtx, std::string& why) {
  if (refuse_broadcasts) return why = "refused by the test", false;
  auto tx = MakeTransactionRef(mtx);
  for (const auto& p : m_net.pending) {
    if (p->txid() == tx->txid()) return true;  // known already
    for (const auto& in : p->inputs())
      for (const auto& mine : tx->inputs())
        if (in.prevout == mine.prevout) return why = "conflicts with a pending transaction", false;
  }
  if (!m_net.CheckLikeMempool(tx, why)) return false;
  m_net.pending.push_back(tx);
  return true;
}

void Party::Send(const std::string& peer, const channels::ChannelMessage& msg) {
  m_net.queue.push_back({m_name, peer, channels::EncodeChannelMessage(msg)});
}

bool Party::SelectFunding(std::uint64_t amount, std::vector<channels::FundingInput>& inputs,
                          std::optional<TxOut>& change, std::string& why) {
  std::uint64_t sum = 0;
  inputs.clear();
  for (const auto& [op, coin] : ChainstateUtxo(*m_net.cs)) {
    if (sum >= amount) break;
    if (coin.out.condition != Condition::Key(pub()) || m_reserved.contains(op)) continue;
    inputs.push_back({op, coin.out});
    sum += static_cast<std::uint64_t>(coin.out.amount.units);
  }
  if (sum < amount) return why = "insufficient funds", false;
  for (const auto& in : inputs) m_reserved.insert(in.prevout);
  change.reset();
  if (sum > amount) change = TxOut{Amount{static_cast<std::int64_t>(sum - amount)}, Condition::Key(pub())};
  return true;
}

bool Party::SignInputs(const MutableTransaction& tx, std::size_t first, std::size_t count, std::vector<Signature>& sigs,
                       std::string& why) {
  const Hash256 txid = tx.ComputeTxid();
  sigs.clear();
  for (std::size_t i = first; i < first + count; ++i) {
    auto coin = m_net.cs->GetCoin(tx.inputs.at(i).prevout);
    if (!coin || coin->out.condition != Condition::Key(pub())) return why = "not this wallet's coin", false;
    sigs.push_back(m_key.Sign(SignatureHash(m_net.params, txid, static_cast<std::uint32_t>(i), coin->out)));
  }
  return true;
}

std::int64_t Party::Balance() const {
  std::int64_t sum = 0;
  for (const auto& [op, coin] : ChainstateUtxo(*m_net.cs))
    if (coin.out.condition == Condition::Key(pub())) sum += coin.out.amount.units;
  return sum;
}

// --- ChannelNet ------------------------------------------------------------------------------

void ChannelNet::SetUp() {
  LedgerTest::SetUp();
  m_market = std::make_unique<ledger::ChainMarketStore>(*cs);
  options.tower = "u";
  a = std::make_unique<Party>(*this, "a", TestKey(11), dir.path() / "a", options);
  b = std::make_unique<Party>(*this, "b", TestKey(12), dir.path() / "b", options);
  u = std::make_unique<Party>(*this, "u", utility, dir.path() / "u");
  MineMany(static_cast<int>(params.coinbase_maturity) + 5);
  for (std::uint32_t h = 1; h <= 5; ++h) m_miner_coins.push_back(CoinbaseSpend(h));
  Fund(a->pub(), 4, Amount{400'000});
  Fund(b->pub(), 4, Amount{400'000});
  Register(meter_a, a->pub(), MeterRole::kConsumer);
  Register(meter_b, b->pub(), MeterRole::kProducer);
}

void ChannelNet::Fund(const crypto::XOnlyPubKey& to, int coins, Amount each) {
  const Spend spend = m_miner_coins.back();
  m_miner_coins.pop_back();
  std::vector<TxOut> outs(static_cast<std::size_t>(coins), TxOut{each, Condition::Key(to)});
  const std::int64_t fee = 10'000;
  outs.push_back({Amount{spend.spent.amount.units - coins * each.units - fee}, Condition::Key(miner)});
  Mine(nullptr, {MakeSpend(params, {spend}, miner_key, outs)}, Amount{fee});
}

void ChannelNet::Register(const crypto::SecretKey& meter, const crypto::XOnlyPubKey& owner, MeterRole role) {
  const Spend spend = m_miner_coins.back();
  m_miner_coins.pop_back();
  MeterRegistration reg;
  reg.meter = meter.PubKey();
  reg.owner = owner;
  reg.role = role;
  MarketRecord rec = reg;
  SetUtilitySignature(rec, utility.Sign(UtilitySigHash(params, spend.prevout, rec)));
  MutableTransaction m;
  m.inputs.push_back({spend.prevout, {}});
  const std::int64_t fee = 10'000;
  m.outputs.push_back({Amount{spend.spent.amount.units - fee}, Condition::Key(miner)});
  m.record = MakeRecord(rec);
  m.inputs[0].satisfaction = Satisfaction::Sig(miner_key.Sign(SignatureHash(params, m.ComputeTxid(), 0, spend.spent)));
  Mine(nullptr, {MakeTransactionRef(std::move(m))}, Amount{fee});
}

MarketReader ChannelNet::Reader() const { return MarketReader(*m_market, params); }

ChannelFunding ChannelNet::Funding() const {
  const std::uint32_t next = cs->Height() + 1;
  ChannelFunding f;
  f.consumer = a->pub();
  f.producer = b->pub();
  f.utility = Reader().Globals().utility_key;
  f.consumer_meter = meter_a.PubKey();
  f.producer_meter = meter_b.PubKey();
  f.energy_wh = 1'000;
  f.slot = SlotOfHeight(next, params);
  f.price = Reader().PriceOfSlot(f.slot);
  f.cwa = 500'000;
  f.cwb = 300'000;
  f.expiry = next + 60;
  f.contest_window = 3;
  f.delivery_start = 1'000;
  f.delivery_end = 2'000;
  return f;
}

Hash256 ChannelNet::OpenFunded() {
  channels::OpenRequest req;
  req.peer = "b";
  req.funding = Funding();
  Hash256 id;
  EXPECT_TRUE(a->engine().Open(req, id).ok());
  Deliver();
  auto ra = a->engine().Get(id);
  auto rb = b->engine().Get(id);
  EXPECT_TRUE(ra && rb);
  if (!ra || !rb) return id;
  EXPECT_EQ(ra->phase, channels::Phase::kFunding);
  EXPECT_EQ(rb->phase, channels::Phase::kFunding);
  EXPECT_EQ(pending.size(), 1u);  // the funding, broadcast by A
  MineBlock();
  EXPECT_EQ(a->engine().Get(id)->phase, channels::Phase::kOpen);
  EXPECT_EQ(b->engine().Get(id)->phase, channels::Phase::kOpen);
  return id;
}

bool ChannelNet::CheckLikeMempool(const TransactionRef& tx, std::string& why, Amount* fee_out) const {
  ValidationState s;
  const std::uint32_t height = cs->Height() + 1;
  std::vector<Coin> coins;
  for (const auto& in : tx->inputs()) {
    auto c = cs->GetCoin(in.prevout);
    if (!c) return why = "missing input", false;
    coins.push_back(*c);
  }
  std::vector<const Coin*> ptrs;
  for (const auto& c : coins) ptrs.push_back(&c);
  MarketOverlay ov(m_market.get());
  Amount minted, pooled, fee;
  if (!CheckTransaction(*tx, s) ||
      !ApplyMarketRecord(*tx, {height, static_cast<std::uint64_t>(kNow)}, params, ov, minted, s, nullptr, &pooled) ||
      !CheckTxInputs(*tx, ptrs, height, params, fee, s, nullptr, minted, pooled))
    return why = s.ToString(), false;
  if (fee_out) *fee_out = fee;
  return true;
}

void ChannelNet::CountImport(std::uint64_t start, std::uint32_t length, std::uint64_t import_wh) {
  Count(meter_a, start, length, import_wh, 0);
}
void ChannelNet::CountExport(std::uint64_t start, std::uint32_t length, std::uint64_t export_wh) {
  Count(meter_b, start, length, 0, export_wh);
}

void ChannelNet::Count(const crypto::SecretKey& meter, std::uint64_t start, std::uint32_t length, std::uint64_t import_wh,
                       std::uint64_t export_wh) {
  const bool a_meter = meter.PubKey() == meter_a.PubKey();
  Reading r;
  r.meter = meter.PubKey();
  r.start = start;
  r.length = length;
  r.import_wh = import_wh;
  r.export_wh = export_wh;
  // One meter imports only, the other exports only: one register each moves.
  r.import_register = a_meter ? (m_import_register += import_wh) : 0;
  r.export_register = a_meter ? 0 : (m_export_register += export_wh);
  r.sig = meter.Sign(ReadingSigHash(params, r));
  const ReadingBatch batch{{r}, {}};
  MutableTransaction tx;
  ValidationState s;
  ASSERT_TRUE(ComputeReadingOutputs(batch, *m_market, params, tx.outputs, s)) << s.ToString();
  tx.record = MakeRecord(batch);
  pending.push_back(MakeTransactionRef(std::move(tx)));
  MineBlock();
}

void ChannelNet::BackUp(const std::string& side) {
  std::unique_ptr<Party>& p = side == "a" ? a : b;
  p.reset();
  std::filesystem::copy(dir.path() / side, dir.path() / (side + "-backup"), std::filesystem::copy_options::recursive);
  p = std::make_unique<Party>(*this, side, TestKey(side == "a" ? 11 : 12), dir.path() / side, options);
}

void ChannelNet::RestoreFromBackUp(const std::string& side) {
  std::unique_ptr<Party>& p = side == "a" ? a : b;
  p.reset();
  std::filesystem::remove_all(dir.path() / side);
  std::filesystem::rename(dir.path() / (side + "-backup"), dir.path() / side);
  p = std::make_unique<Party>(*this, side, TestKey(side == "a" ? 11 : 12), dir.path() / side, options);
}

void ChannelNet::Deliver(std::size_t limit) {
  for (std::size_t n = 0; n < limit && !queue.empty(); ++n) {
    InFlight m = std::move(queue.front());
    queue.pop_front();
    Party* to = ByName(m.to);
    if (!to || to->offline) continue;
    channels::ChannelMessage msg;
    ASSERT_EQ(channels::DecodeChannelMessage(m.bytes, msg), DecodeError::kOk);
    ++delivered;
    if (auto* t = std::get_if<channels::TowerUpdateMsg>(&msg)) verdicts.push_back(to->tower().Accept(*t));
    else if (auto* x = std::get_if<channels::ArbitrateMsg>(&msg)) to->Send(m.from, to->arbiter().Handle(*x));
    else to->engine().OnMessage(m.from, msg);
  }
}

void ChannelNet::MineBlock() {
  std::vector<TransactionRef> txs;
  Amount fees{0};
  // Like the mempool after a block: what no longer fits goes (the engines rebroadcast).
  std::erase_if(pending, [&](const TransactionRef& tx) {
    std::string why;
    return !CheckLikeMempool(tx, why);
  });
  for (const auto& tx : pending) {
    std::string why;
    Amount fee{0};  // what the inputs pay beyond the outputs, minus coins moved into the pool
    EXPECT_TRUE(CheckLikeMempool(tx, why, &fee)) << why;
    fees.units += fee.units;
    txs.push_back(tx);
    break;  // one per block: later ones may spend or conflict with it
  }
  if (!txs.empty()) std::erase(pending, txs[0]);
  const Block block = Mine(nullptr, txs, fees);
  for (Party* p : {a.get(), b.get(), u.get()}) {
    if (p->offline) continue;
    p->engine().OnBlock();
    p->tower().OnBlockConnected(block.txs);
  }
}

}  // namespace wattline::test
