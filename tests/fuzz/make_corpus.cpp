// Writes the seed corpora of the fuzz targets: a few small valid inputs per target, built with
// the consensus library itself, plus a few invalid ones. Deterministic (fixed keys, fixed
// signing randomness), so re-running it after an encoding change gives a reviewable diff.
//
//   wattline-make-corpus tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "channels/channel_record.h"
#include "channels/messages.h"
#include "consensus/block_check.h"
#include "consensus/channel.h"
#include "consensus/market.h"
#include "consensus/market_state.h"
#include "consensus/params.h"
#include "consensus/pow.h"
#include "consensus/tx_verify.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {

std::filesystem::path g_root;

void Put(const std::string& target, const std::string& name, const Bytes& bytes) {
  const auto dir = g_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

crypto::SecretKey Key(std::uint8_t n) {
  std::array<std::uint8_t, 32> b{};
  b[31] = n;  // the same small scalars as the key pool of check_transaction.cpp
  return *crypto::SecretKey::FromBytes(b);
}

// Bytes that FuzzedDataProvider's ConsumeIntegral* read back as the values pushed, in order:
// it takes integers from the end of the input, most significant byte first.
class FdpTail {
 public:
  void Push(std::uint64_t raw, int n_bytes) {
    for (int i = n_bytes - 1; i >= 0; --i) m_reversed.push_back(static_cast<std::uint8_t>(raw >> (8 * i)));
  }
  void Signed64(std::int64_t v) { Push(static_cast<std::uint64_t>(v) ^ (1ull << 63), 8); }  // v - INT64_MIN
  Bytes Done() const { return Bytes(m_reversed.rbegin(), m_reversed.rend()); }

 private:
  Bytes m_reversed;
};

Bytes Pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed * 37 + i * 11);
  return b;
}

Block Mine(Block b, const Params& params) {
  b.header.merkle_root = BlockMerkleRoot(b);
  while (!CheckProofOfWork(b.Hash(), b.header.bits, params)) ++b.header.nonce;
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  const Params& params = GetParams(Network::kRegtest);
  const auto a = Key(1), b = Key(2), c = Key(3);
  const crypto::Hash256 aux{};

  // Conditions.
  const Condition key = Condition::Key(a.PubKey());
  const Condition multi = Condition::Multisig(2, {a.PubKey(), b.PubKey(), c.PubKey()});
  const Condition later = Condition::AfterHeight(1000, Condition::Key(a.PubKey()));
  const Condition or_cond = Condition::Or(multi, later);
  Put("decode_condition", "key", EncodeCondition(key));
  Put("decode_condition", "multisig-2-of-3", EncodeCondition(multi));
  Put("decode_condition", "after-blocks", EncodeCondition(Condition::AfterBlocks(10, key)));
  Put("decode_condition", "or-multisig-or-later", EncodeCondition(or_cond));
  Put("decode_condition", "bad-unknown-type", Bytes{0x09});
  Bytes truncated_key = EncodeCondition(key);
  truncated_key.pop_back();
  Put("decode_condition", "bad-truncated-key", truncated_key);
  Condition deep = key;
  for (int i = 0; i < 5; ++i) deep = Condition::AfterHeight(1, deep);
  Put("decode_condition", "bad-too-deep", EncodeCondition(deep));

  // Satisfactions.
  const Hash256 msg = crypto::TaggedHash("wattline/corpus", {});
  const Satisfaction sig = Satisfaction::Sig(a.Sign(msg, aux));
  const Satisfaction msig = Satisfaction::Multi(0b101, {a.Sign(msg, aux), c.Sign(msg, aux)});
  Put("decode_satisfaction", "sig", EncodeSatisfaction(sig));
  Put("decode_satisfaction", "multisig-0b101", EncodeSatisfaction(msig));
  Put("decode_satisfaction", "branch-right", EncodeSatisfaction(Satisfaction::Branch(1, sig)));
  Put("decode_satisfaction", "bad-branch-2", Bytes{0x03, 0x02, 0x01});
  Put("decode_satisfaction", "bad-no-signers", Bytes{0x02, 0x00, 0x00});

  // Transactions: a coinbase, then spends of its outputs (each a different condition).
  MutableTransaction cb;
  cb.record = Record::Coinbase(1);
  cb.outputs = {{Coins(20), key}, {Coins(20), multi}, {Coins(10), or_cond}};
  const TransactionRef coinbase = MakeTransactionRef(cb);

  MutableTransaction pay;
  pay.inputs.resize(3);
  for (std::uint32_t i = 0; i < 3; ++i) pay.inputs[i].prevout = {coinbase->txid(), i};
  pay.outputs = {{Coins(30), Condition::Key(b.PubKey())}, {Coins(19), Condition::AfterBlocks(5, key)}};
  const Hash256 txid = pay.ComputeTxid();
  auto sighash = [&](std::uint32_t i) { return SignatureHash(params, txid, i, cb.outputs[i]); };
  pay.inputs[0].satisfaction = Satisfaction::Sig(a.Sign(sighash(0), aux));
  pay.inputs[1].satisfaction = Satisfaction::Multi(0b011, {a.Sign(sighash(1), aux), b.Sign(sighash(1), aux)});
  pay.inputs[2].satisfaction =
      Satisfaction::Branch(1, Satisfaction::Sig(a.Sign(sighash(2), aux)));  // the later-by-a branch
  const TransactionRef payment = MakeTransactionRef(pay);

  MutableTransaction simple;
  simple.inputs = {{{coinbase->txid(), 0}, Satisfaction::Sig(a.Sign(msg, aux))}};
  simple.outputs = {{Coins(19), Condition::Key(c.PubKey())}};
  const TransactionRef one_in = MakeTransactionRef(simple);

  const Bytes cb_bytes = EncodeTransaction(*coinbase), pay_bytes = EncodeTransaction(*payment);
  Put("decode_transaction", "coinbase", cb_bytes);
  Put("decode_transaction", "payment-3-in-2-out", pay_bytes);
  Put("decode_transaction", "payment-1-in-1-out", EncodeTransaction(*one_in));
  Put("decode_transaction", "bad-trailing-byte", Cat(cb_bytes, {0x00}));
  Bytes nonminimal = cb_bytes;
  nonminimal.insert(nonminimal.begin() + 4, {0x80});  // input count 0 as two bytes: 0x80 0x00
  Put("decode_transaction", "bad-non-minimal-count", nonminimal);

  // check_transaction: a transaction, then the bytes that choose its coins.
  Put("check_transaction", "payment-3-in", Cat(pay_bytes, Pattern(96, 1)));
  Put("check_transaction", "payment-3-in-b", Cat(pay_bytes, Pattern(160, 2)));
  Put("check_transaction", "payment-1-in", Cat(EncodeTransaction(*one_in), Pattern(48, 3)));
  Put("check_transaction", "coinbase", Cat(cb_bytes, Pattern(16, 4)));

  // Headers and blocks: the regtest genesis, and a mined block 1 with the two transactions.
  const auto genesis_header = params.genesis.header.Encode();
  Put("decode_header", "regtest-genesis", Bytes(genesis_header.begin(), genesis_header.end()));
  Put("decode_header", "main-genesis",
      [] { auto h = GetParams(Network::kMain).genesis.header.Encode(); return Bytes(h.begin(), h.end()); }());
  Put("decode_header", "bad-truncated", Bytes(genesis_header.begin(), genesis_header.end() - 1));

  Block block1;
  block1.header.prev_hash = params.genesis_hash;
  block1.header.time = params.genesis.header.time + 60;
  block1.header.bits = params.genesis.header.bits;
  block1.txs = {coinbase, payment};
  block1 = Mine(block1, params);
  ValidationState state;
  if (!CheckBlock(block1, params, state)) {
    std::fprintf(stderr, "block 1 does not pass CheckBlock: %s\n", state.ToString().c_str());
    return 1;
  }
  const Bytes genesis_bytes = EncodeBlock(params.genesis), block1_bytes = EncodeBlock(block1);
  Put("decode_block", "regtest-genesis", genesis_bytes);
  Put("decode_block", "block-1", block1_bytes);
  Put("decode_block", "bad-truncated", Bytes(block1_bytes.begin(), block1_bytes.end() - 1));
  Put("decode_block", "bad-huge-count", Cat(Bytes(genesis_header.begin(), genesis_header.end()), {0xff, 0x7f}));

  // check_block: a block, then its context (height, own bits?, median time past, bits, clock).
  auto context = [&](const Block& blk, std::uint32_t height, bool own_bits, std::int64_t now) {
    FdpTail t;
    t.Push(height, 4);
    t.Push(own_bits ? 1 : 0, 1);
    t.Push(blk.header.time - 1, 8);
    t.Push(blk.header.bits, 4);
    t.Signed64(now);
    return t.Done();
  };
  const std::int64_t t1 = static_cast<std::int64_t>(block1.header.time);
  Put("check_block", "block-1", Cat(block1_bytes, context(block1, 1, true, t1)));
  Put("check_block", "block-1-from-future", Cat(block1_bytes, context(block1, 1, true, t1 - 3 * 60 * 60)));
  Put("check_block", "genesis", Cat(genesis_bytes, context(params.genesis, 0, false, t1)));

  // compact_bits: FuzzedDataProvider bytes (bits, a 256-bit target, network, height, times).
  Put("compact_bits", "regtest-limit", Cat(Pattern(40, 5), {0x1d, 0x00, 0xff, 0xff}));
  Put("compact_bits", "main", Pattern(64, 6));
  Put("compact_bits", "devnet", Pattern(72, 7));

  // varint: operations from the end, bytes from the front.
  Put("varint", "minimal", Cat(Bytes{0x00, 0x7f, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f}, Pattern(24, 8)));
  Put("varint", "max-u64", Cat(Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, Pattern(24, 9)));
  Put("varint", "bad-non-minimal", Cat(Bytes{0x80, 0x00, 0x81, 0x80, 0x00}, Pattern(24, 10)));
  // encode_objects: FuzzedDataProvider bytes that build the objects.
  Put("encode_objects", "small", Pattern(64, 11));
  Put("encode_objects", "medium", Pattern(400, 12));
  Put("encode_objects", "zeros", Bytes(128, 0));

  // decode_market: a selector byte (the record kind, index into 2, 3, 4, 5, 7, 8) then a payload.
  {
    const crypto::SecretKey utility = *crypto::SecretKey::FromBytes(DocumentedUtilitySecret(Network::kRegtest).span());
    const OutPoint first{coinbase->txid(), 0};
    auto signed_rec = [&](MarketRecord rec) {
      SetUtilitySignature(rec, utility.Sign(UtilitySigHash(params, first, rec), aux));
      return rec;
    };
    Reading reading;
    reading.meter = Key(21).PubKey();
    reading.start = 1'800'000'000;
    reading.length = 900;
    reading.import_wh = 10;
    reading.export_wh = 250;
    reading.import_register = 10;
    reading.export_register = 250;
    reading.sig = Key(21).Sign(ReadingSigHash(params, reading), aux);
    ReadingBatch batch{{reading, reading}, std::nullopt};
    ReadingBatch with_series{{reading}, ComputeCid(Pattern(8, 13))};
    ChannelFunding funding;
    funding.consumer = a.PubKey();
    funding.producer = b.PubKey();
    funding.utility = params.utility_key;
    funding.consumer_meter = Key(21).PubKey();
    funding.producer_meter = Key(22).PubKey();
    funding.energy_wh = 5000;
    funding.slot = 10;
    funding.price = 1;
    funding.cwa = 5;
    funding.cwb = 1000;
    funding.cwu = 100;
    funding.expiry = 200;
    funding.contest_window = 6;
    funding.delivery_start = 1'800'003'600;
    funding.delivery_end = 1'800'007'200;
    const std::vector<std::pair<std::string, MarketRecord>> recs = {
        {"registration", signed_rec(MeterRegistration{Key(21).PubKey(), a.PubKey(), MeterRole::kProducer, 1000, {}})},
        {"readings", batch},
        {"readings-series", with_series},
        {"coefficients", signed_rec(PriceCoefficients{3, 5, 7, {}})},
        {"funding", funding},
        {"rotation", signed_rec(UtilityKeyRotation{c.PubKey(), {}})},
        {"deregistration", signed_rec(MeterDeregistration{Key(21).PubKey(), {}})},
    };
    auto selector = [](RecordKind k) -> std::uint8_t {
      constexpr RecordKind kinds[] = {RecordKind::kMeterRegistration, RecordKind::kReadings, RecordKind::kPriceCoefficients,
                                      RecordKind::kChannelFunding, RecordKind::kUtilityKeyRotation, RecordKind::kMeterDeregistration};
      for (std::uint8_t i = 0; i < 6; ++i)
        if (kinds[i] == k) return i;
      return 0;
    };
    for (const auto& [name, rec] : recs) {
      const Record r = MakeRecord(rec);
      Put("decode_market", name, Cat(Bytes{selector(r.kind)}, r.payload));
      Bytes whole;
      Writer w(whole);
      EncodeRecord(w, r);
      Put("decode_market", "record-" + name, whole);
    }
    const Record reg = MakeRecord(recs[0].second);
    Put("decode_market", "bad-version-2", Cat(Bytes{0x80, 0x02}, reg.payload));
    Bytes bad_role = reg.payload;
    bad_role[64] = 9;
    Put("decode_market", "bad-role", Cat(Bytes{0x00}, bad_role));
    Put("decode_market", "bad-empty-batch", Bytes{0x01, 0x00, 0x00});
    MeterState meter;
    meter.owner = a.PubKey();
    meter.registered = true;
    meter.has_reading = true;
    meter.last_end = 1'800'000'900;
    meter.export_register = 250;
    Put("decode_market", "meter-state", EncodeMeterState(meter));
    Put("decode_market", "globals", EncodeGlobals(InitialGlobals(params)));
    ChannelState channel;
    channel.funding = funding;
    channel.status = ChannelStatus::kClosing;
    channel.current = OutPoint{coinbase->txid(), 0};
    channel.amount = 1105;
    channel.count_a = 2;
    Put("decode_market", "channel-state", EncodeChannelState(channel));
    Put("decode_market", "watch-list", EncodeWatchList({{channel.current, false}, {OutPoint{coinbase->txid(), 1}, true}}));
  }
  // market_rules: FuzzedDataProvider bytes that choose the operations.
  Put("market_rules", "small", Pattern(96, 14));
  Put("market_rules", "medium", Pattern(600, 15));
  Put("market_rules", "large", Pattern(3000, 16));
  Put("market_rules", "zeros", Bytes(512, 0));
  Put("market_rules", "ones", Bytes(512, 0xff));
  // decode_channel: one settlement record of each path, plus broken ones.
  {
    Reading rd;
    rd.meter = Key(22).PubKey();
    rd.start = 1'800'000'000;
    rd.length = 900;
    rd.export_wh = 250;
    rd.export_register = 250;
    rd.sig = Key(22).Sign(ReadingSigHash(params, rd), crypto::Hash256{});
    ChannelSettlement s;
    s.channel.txid.bytes.fill(0x42);
    s.path = SettlementPath::kCooperative;
    s.cc = 382;
    s.fee = 19;
    Put("decode_channel", "cooperative", EncodeSettlement(s));
    s.path = SettlementPath::kPost;
    s.state = 12;
    s.sig_a = Key(1).Sign(CommitmentSigHash(params, s.AsCommitment()), crypto::Hash256{});
    s.sig_b = Key(2).Sign(CommitmentSigHash(params, s.AsCommitment()), crypto::Hash256{});
    Put("decode_channel", "post", EncodeSettlement(s));
    s = {};
    s.path = SettlementPath::kSettle;
    Put("decode_channel", "settle", EncodeSettlement(s));
    s.path = SettlementPath::kExpiry;
    s.fee = 19;
    Put("decode_channel", "expiry", EncodeSettlement(s));
    s.path = SettlementPath::kPenalty;
    s.evidence = {rd, rd};
    Put("decode_channel", "penalty", EncodeSettlement(s));
    s.path = SettlementPath::kDelivered;
    s.evidence = {rd};
    const Bytes delivered = EncodeSettlement(s);
    Put("decode_channel", "delivered", delivered);
    Bytes bad = delivered;
    bad[0] = 7;
    Put("decode_channel", "bad-path", bad);
    Put("decode_channel", "bad-truncated", Bytes(delivered.begin(), delivered.end() - 1));
  }
  // channel_messages and channel_state_file: one message of each type, and a record.
  {
    const ChannelId ch{crypto::Hash256{}, 0};
    ChannelFunding f;
    f.consumer = a.PubKey();
    f.producer = b.PubKey();
    f.utility = c.PubKey();
    f.consumer_meter = Key(4).PubKey();
    f.producer_meter = Key(5).PubKey();
    f.energy_wh = 2'500;
    f.slot = 7;
    f.price = 382;
    f.cwa = 955'000;
    f.cwb = 1'000'000;
    f.expiry = 500;
    f.contest_window = 6;
    f.delivery_start = 1'800'000'000;
    f.delivery_end = 1'800'003'600;
    const std::vector<channels::FundingInput> inputs{{{crypto::Hash256{}, 1}, {Amount{600'000}, key}}};
    const TxOut change{Amount{43'000}, key};
    const Signature csig = a.Sign(crypto::Hash256{}, aux);
    const std::vector<std::pair<std::string, channels::ChannelMessage>> msgs{
        {"open", channels::OpenMsg{crypto::Hash256{}, f, 2'000, inputs, change}},
        {"accept", channels::AcceptMsg{crypto::Hash256{}, inputs, std::nullopt}},
        {"funding-created", channels::FundingCreatedMsg{crypto::Hash256{}, csig}},
        {"funding-signed", channels::FundingSignedMsg{crypto::Hash256{}, csig, {csig}}},
        {"update", channels::UpdateMsg{ch, 7, 12'345, csig}},
        {"update-ack", channels::UpdateAckMsg{ch, 7, csig}},
        {"close", channels::CloseMsg{ch, 12'345, 8'000, csig}},
        {"close-ack", channels::CloseAckMsg{ch, csig}},
        {"reestablish", channels::ReestablishMsg{ch, 7}},
        {"tower-update", channels::TowerUpdateMsg{{ch, 7, 12'345, 2'000}, csig, csig}},
        {"error", channels::ErrorMsg{crypto::Hash256{}, channels::ErrorCode::kBadState, "state 9 does not follow 7"}},
        {"arbitrate", channels::ArbitrateMsg{ch, consensus::SettlementPath::kDelivered, 3'000, csig}},
        {"arbitrate-ack", channels::ArbitrateAckMsg{ch, csig}},
        {"state", channels::StateMsg{{ch, 9, 13'000, 2'000}, csig, csig}},
    };
    for (const auto& [name, m] : msgs) Put("channel_messages", name, channels::EncodeChannelMessage(m));
    Put("channel_messages", "bad-type", Bytes{15});
    channels::ChannelRecord r;
    r.funding = f;
    r.a_inputs = inputs;
    r.a_change = change;
    r.b_inputs = inputs;
    r.channel = ch;
    r.state = 41;
    r.pending = true;
    r.close_signed = true;
    r.peer = "127.0.0.1:39733";
    const Bytes record = channels::EncodeChannelRecord(r);
    Put("channel_state_file", "record", record);
    Put("channel_state_file", "bad-truncated", Bytes(record.begin(), record.end() - 1));
  }
  std::printf("corpus written to %s\n", g_root.c_str());
  return 0;
}
