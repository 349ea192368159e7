#include "consensus/params.h"

namespace wattline::consensus {

Block MakeGenesisBlock(std::uint64_t time, std::uint32_t bits, std::uint64_t nonce, std::string_view message) {
  MutableTransaction cb;
  ByteSpan msg(reinterpret_cast<const std::uint8_t*>(message.data()), message.size());
  cb.record = Record::Coinbase(0, msg);
  // Nothing is issued at genesis: the output pays zero to a key that is not on the curve.
  crypto::XOnlyPubKey burn;
  burn.bytes.fill(0xff);
  cb.outputs.push_back({Amount{0}, Condition::Key(burn)});
  Block b;
  b.txs.push_back(MakeTransactionRef(std::move(cb)));
  b.header.version = kBlockVersion;
  b.header.time = time;
  b.header.bits = bits;
  b.header.nonce = nonce;
  b.header.merkle_root = BlockMerkleRoot(b);
  return b;
}

namespace {

// Found by contrib/mine-genesis (tests/unit/consensus/params_test.cpp checks each one).
constexpr std::uint64_t kGenesisNonces[4] = {1819310, 323483, 5208936, 3};

constexpr std::string_view kGenesisMessage = "wattline: local energy, settled in energy coins";

uint256 Limit(int leading_zero_bits) { return std::numeric_limits<uint256>::max() >> leading_zero_bits; }

Params MakeParams(Network net) {
  Params p;
  p.network = net;
  switch (net) {
    case Network::kMain:
      p.name = "main";
      p.magic = {0xe7, 0x0a, 0x77, 0x01};
      p.pow_limit = Limit(24);
      p.target_spacing = 60;
      p.retarget_interval = 1440;
      p.default_port = 9733;
      p.genesis = MakeGenesisBlock(1764633600, TargetToCompact(p.pow_limit), 0, kGenesisMessage);
      break;
    case Network::kTestnet:
      p.name = "testnet";
      p.magic = {0xe7, 0x0a, 0x77, 0x02};
      p.pow_limit = Limit(20);
      p.target_spacing = 60;
      p.retarget_interval = 1440;
      p.default_port = 19733;
      p.genesis = MakeGenesisBlock(1764633601, TargetToCompact(p.pow_limit), 0, kGenesisMessage);
      break;
    case Network::kDevnet:
      p.name = "devnet";
      p.magic = {0xe7, 0x0a, 0x77, 0x03};
      p.pow_limit = Limit(16);
      p.target_spacing = 5;
      p.retarget_interval = 60;
      p.max_future_block_time = 60;
      p.halving_interval = 100'000;
      p.coinbase_maturity = 10;  // a fresh devnet wallet can spend within a minute
      p.default_port = 29733;
      p.slot_blocks = 12;  // a minute of 5 s blocks
      // Harder than the limit, so a fresh devnet starts near its 5 s spacing on one core.
      p.genesis = MakeGenesisBlock(1764633602, TargetToCompact(Limit(22)), 0, kGenesisMessage);
      break;
    case Network::kRegtest:
      p.name = "regtest";
      p.magic = {0xe7, 0x0a, 0x77, 0x04};
      p.pow_limit = Limit(1);
      p.target_spacing = 1;
      p.retarget_interval = 150;
      p.retargeting = false;
      p.halving_interval = 150;
      p.default_port = 39733;
      p.slot_blocks = 10;
      p.genesis = MakeGenesisBlock(1764633603, TargetToCompact(p.pow_limit), 0, kGenesisMessage);
      break;
  }
  p.utility_key = crypto::SecretKey::FromBytes(DocumentedUtilitySecret(net).span())->PubKey();
  p.genesis.header.nonce = kGenesisNonces[static_cast<int>(net)];
  p.genesis_hash = p.genesis.Hash();
  return p;
}

}  // namespace

crypto::Hash256 DocumentedUtilitySecret(Network network) {
  const std::string text = "wattline " + std::string(NetworkName(network)) + " utility key";
  return crypto::Sha256Of({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

const Params& GetParams(Network network) {
  static const Params kAll[] = {MakeParams(Network::kMain), MakeParams(Network::kTestnet),
                                MakeParams(Network::kDevnet), MakeParams(Network::kRegtest)};
  return kAll[static_cast<int>(network)];
}

std::optional<Network> NetworkFromName(std::string_view name) {
  for (Network n : {Network::kMain, Network::kTestnet, Network::kDevnet, Network::kRegtest})
    if (NetworkName(n) == name) return n;
  return std::nullopt;
}

std::string_view NetworkName(Network network) {
  switch (network) {
    case Network::kMain: return "main";
    case Network::kTestnet: return "testnet";
    case Network::kDevnet: return "devnet";
    case Network::kRegtest: return "regtest";
  }
  return "unknown";
}

Amount BlockSubsidy(std::uint32_t height, const Params& params) {
  if (height == 0) return Amount{0};
  const std::uint32_t halvings = (height - 1) / params.halving_interval;
  if (halvings >= 63) return Amount{0};
  return Amount{params.initial_subsidy.units >> halvings};
}

}  // namespace wattline::consensus
