// wattline-forge-close: builds a penalty close (U + A) of a real channel, signed by both, with
// honest or forged meter evidence, for test_channels.py to submit to a running wattlined.
//
// The signatures are real: A's from a copy of the consumer node's wallet file (unlocked with
// its passphrase file), U's from the regtest utility's documented key. So a refusal of a forged
// close can only come from consensus checking the evidence, never from a signature.
//
//   wattline-forge-close --funding-hex HEX --channel TXID:INDEX --readings FILE
//                        --wallet COPY --passphrase-file FILE --fee N --forgery KIND
//
// FILE holds one JSON object per line: meter, start, length, import_wh, export_wh,
// import_register, export_register (integers) and signature (hex): the counted readings of both
// meters in the order the chain counted them, those inside the delivery interval and any after it.
// KIND: none (the honest close), other-meter, unsigned, outside, omitted, reordered, arithmetic.
// Prints the transaction in hex; exit 1 with one line on stderr when it cannot build it.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channels/builder.h"
#include "consensus/channel.h"
#include "consensus/market.h"
#include "consensus/params.h"
#include "consensus/serialize.h"
#include "consensus/transaction.h"
#include "crypto/hex.h"
#include "crypto/schnorr.h"
#include "node/wallet.h"

namespace {

using namespace wattline;
using consensus::Reading;

int Fail(const std::string& why) {
  std::cerr << "wattline-forge-close: " << why << "\n";
  return 1;
}

/** The wallet needs a chain to open; a copy opened only to sign needs none. */
class NoChain : public node::WalletChain {
 public:
  std::uint32_t TipHeight() const override { return 0; }
  void ForEachActiveBlock(std::uint32_t, const std::function<void(const consensus::Block&, std::uint32_t)>&) const override {}
  bool SubmitTransaction(const consensus::TransactionRef&, std::string& error) override {
    error = "this wallet copy submits nothing";
    return false;
  }
  std::int64_t MinFeeRate() const override { return 0; }
};

template <typename T>
bool FromHex(const std::string& hex, T& out) {
  auto raw = crypto::HexDecode(hex);
  if (!raw || raw->size() != out.bytes.size()) return false;
  std::copy(raw->begin(), raw->end(), out.bytes.begin());
  return true;
}

std::optional<std::vector<Reading>> LoadReadings(const std::string& path, std::string& why) {
  std::ifstream in(path);
  if (!in) return why = "cannot read " + path, std::nullopt;
  std::vector<Reading> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return why = "not a JSON object: " + line, std::nullopt;
    Reading r;
    try {
      if (!FromHex(j.at("meter").get<std::string>(), r.meter) || !FromHex(j.at("signature").get<std::string>(), r.sig))
        return why = "bad meter or signature hex: " + line, std::nullopt;
      r.start = j.at("start").get<std::uint64_t>();
      r.length = j.at("length").get<std::uint32_t>();
      r.import_wh = j.at("import_wh").get<std::uint64_t>();
      r.export_wh = j.at("export_wh").get<std::uint64_t>();
      r.import_register = j.at("import_register").get<std::uint64_t>();
      r.export_register = j.at("export_register").get<std::uint64_t>();
    } catch (const nlohmann::json::exception& e) {
      return why = std::string("reading: ") + e.what(), std::nullopt;
    }
    out.push_back(r);
  }
  return out;
}

struct Args {
  std::string funding_hex, channel, readings, wallet, passphrase_file, forgery;
  std::uint64_t fee = 0;
};

std::optional<Args> ParseArgs(int argc, char** argv, std::string& why) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return why = k + " needs a value", std::nullopt;
    const std::string v = argv[++i];
    if (k == "--funding-hex") a.funding_hex = v;
    else if (k == "--channel") a.channel = v;
    else if (k == "--readings") a.readings = v;
    else if (k == "--wallet") a.wallet = v;
    else if (k == "--passphrase-file") a.passphrase_file = v;
    else if (k == "--forgery") a.forgery = v;
    else if (k == "--fee") a.fee = std::stoull(v);
    else return why = "unknown option " + k, std::nullopt;
  }
  if (a.funding_hex.empty() || a.channel.empty() || a.readings.empty() || a.wallet.empty() || a.passphrase_file.empty() ||
      a.forgery.empty())
    return why = "needs --funding-hex, --channel, --readings, --wallet, --passphrase-file and --forgery", std::nullopt;
  return a;
}

/** The channel as the chain holds it while open and never posted: all the builders need. */
std::optional<consensus::ChannelState> OpenChannel(const consensus::Transaction& funding, const consensus::ChannelId& id,
                                                   std::string& why) {
  consensus::MarketRecord rec;
  if (consensus::DecodeMarketRecord(funding.record(), rec) != consensus::DecodeError::kOk ||
      !std::holds_alternative<consensus::ChannelFunding>(rec))
    return why = "the funding transaction holds no channel funding record", std::nullopt;
  if (id.txid != funding.txid() || id.index >= funding.outputs().size())
    return why = "the channel is not an output of that transaction", std::nullopt;
  consensus::ChannelState ch;
  ch.funding = std::get<consensus::ChannelFunding>(rec);
  ch.current = id;
  ch.amount = static_cast<std::uint64_t>(funding.outputs()[id.index].amount.units);
  return ch;
}

}  // namespace

int main(int argc, char** argv) {
  std::string why;
  const auto args = ParseArgs(argc, argv, why);
  if (!args) return Fail(why);
  const consensus::Params& params = consensus::GetParams(consensus::Network::kRegtest);

  auto raw = crypto::HexDecode(args->funding_hex);
  consensus::TransactionRef funding;
  if (!raw || consensus::DecodeTransaction(*raw, funding) != consensus::DecodeError::kOk)
    return Fail("--funding-hex is not a transaction");
  consensus::ChannelId id;
  const auto colon = args->channel.find(':');
  auto txid = crypto::Hash256::FromHex(args->channel.substr(0, colon));
  if (colon == std::string::npos || !txid) return Fail("--channel must be TXID:INDEX");
  id.txid = *txid;
  id.index = static_cast<std::uint32_t>(std::stoul(args->channel.substr(colon + 1)));
  const auto ch = OpenChannel(*funding, id, why);
  if (!ch) return Fail(why);
  const consensus::ChannelFunding& f = ch->funding;

  const auto counted = LoadReadings(args->readings, why);
  if (!counted) return Fail(why);
  std::vector<Reading> evidence, after;
  for (const Reading& r : *counted)
    (consensus::InDeliveryInterval(r, f.delivery_start, f.delivery_end) ? evidence : after).push_back(r);
  if (evidence.size() < 2) return Fail("needs at least two readings inside the delivery interval");

  // The forgery changes the evidence (or, for arithmetic, the outputs) of an otherwise honest close.
  std::vector<Reading> forged = evidence;
  const std::string& kind = args->forgery;
  const auto of_b = std::find_if(forged.begin(), forged.end(), [&](const Reading& r) { return r.meter == f.producer_meter; });
  if (kind == "other-meter") {
    const crypto::SecretKey other = crypto::SecretKey::Generate();  // a meter of neither party
    forged[0].meter = other.PubKey();
    forged[0].sig = other.Sign(consensus::ReadingSigHash(params, forged[0]));
  } else if (kind == "unsigned") {
    if (of_b == forged.end()) return Fail("no reading of B's meter to forge");
    of_b->export_wh += 1;  // B "exported" less than it did... or more: the meter never signed it
  } else if (kind == "outside") {
    if (after.empty()) return Fail("no counted reading after the delivery interval");
    forged.push_back(after[0]);
  } else if (kind == "omitted") {
    if (of_b == forged.end()) return Fail("no reading of B's meter to leave out");
    forged.erase(of_b);  // B looks as if it delivered less
  } else if (kind == "reordered") {
    const auto second = std::find_if(of_b + 1, forged.end(), [&](const Reading& r) { return r.meter == f.producer_meter; });
    if (of_b == forged.end() || second == forged.end()) return Fail("needs two readings of B's meter");
    std::iter_swap(of_b, second);
  } else if (kind != "none" && kind != "arithmetic") {
    return Fail("unknown forgery " + kind);
  }

  // The honest close, then the forged evidence in its record: the outputs stay the honest split.
  auto tx = channels::BuildEvidenceClose(id, *ch, consensus::SettlementPath::kPenalty, evidence, args->fee,
                                         static_cast<std::uint64_t>(params.channel_dust.units), why);
  if (!tx) return Fail("cannot build the close: " + why);
  consensus::ChannelSettlement settlement;
  if (consensus::DecodeSettlementRecord(tx->record, settlement) != consensus::DecodeError::kOk)
    return Fail("the builder's record does not decode");
  settlement.evidence = forged;
  tx->record = consensus::MakeSettlementRecord(settlement);
  if (kind == "arithmetic") {
    // Honest evidence, dishonest split: 1,000 units of the largest share paid to another party.
    if (tx->outputs.size() < 2) return Fail("the close pays one party: no share to shift");
    auto from = std::max_element(tx->outputs.begin(), tx->outputs.end(),
                                 [](const consensus::TxOut& x, const consensus::TxOut& y) { return x.amount.units < y.amount.units; });
    auto to = from == tx->outputs.begin() ? from + 1 : tx->outputs.begin();
    from->amount.units -= 1'000;
    to->amount.units += 1'000;
  }

  std::ifstream pass_in(args->passphrase_file);
  std::string passphrase;
  if (!std::getline(pass_in, passphrase)) return Fail("cannot read " + args->passphrase_file);
  NoChain chain;
  std::unique_ptr<node::Wallet> wallet;
  auto opened = node::Wallet::Open(args->wallet, params, chain, wallet);
  if (!opened.ok()) return Fail("cannot open the wallet copy: " + opened.message);
  if (auto u = wallet->Unlock(passphrase, std::chrono::seconds(0)); !u.ok()) return Fail("cannot unlock: " + u.message);
  if (wallet->DefaultKey() != f.consumer) return Fail("the wallet's channel key is not the channel's A");

  const crypto::Hash256 msg = channels::CloseSighash(params, *tx, id, *ch);
  crypto::Signature sig_a;
  if (auto s = wallet->SignWithDefaultKey(msg, sig_a); !s.ok()) return Fail("A cannot sign: " + s.message);
  const auto utility = crypto::SecretKey::FromBytes(consensus::DocumentedUtilitySecret(params.network).span());
  if (!utility || utility->PubKey() != f.utility) return Fail("the channel's U is not the regtest utility key");
  channels::AttachSignatures(*tx, 0b101, {sig_a, utility->Sign(msg)});  // A and U
  std::cout << crypto::HexEncode(consensus::EncodeTransaction(consensus::Transaction(*tx))) << "\n";
  return 0;
}
