// Chain parameters: everything that differs between networks, as plain data.
//
//   main     60 s blocks, retarget every 1440 blocks (a day)
//   testnet  as main, with its own magic and genesis, and an easier proof-of-work limit
//   devnet   5 s blocks, retarget every 60 blocks; for a single-node or local network
//   regtest  minimal difficulty, no retargeting: blocks on demand for tests
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/amount.h"
#include "consensus/block.h"
#include "consensus/pow.h"
#include "crypto/schnorr.h"

namespace wattline::consensus {

enum class Network : std::uint8_t { kMain = 0, kTestnet = 1, kDevnet = 2, kRegtest = 3 };

using crypto::XOnlyPubKey;

struct Params {
  Network network = Network::kRegtest;
  std::string name;
  /** Prefixed to every signature hash and P2P frame: signatures never replay across networks. */
  std::array<std::uint8_t, 4> magic{};

  uint256 pow_limit;                      //!< easiest allowed target
  std::int64_t target_spacing = 60;       //!< seconds per block
  std::uint32_t retarget_interval = 1440; //!< blocks per difficulty period (>= 2)
  bool retargeting = true;                //!< false: every block keeps the genesis bits
  std::uint32_t median_time_span = 11;    //!< blocks in the median-time-past
  std::int64_t max_future_block_time = 2 * 60 * 60;  //!< seconds a block may be ahead of now

  Amount initial_subsidy = Coins(50);     //!< Cin at height 1
  std::uint32_t halving_interval = 210'000;
  std::uint32_t coinbase_maturity = 100;  //!< confirmations before a coinbase output is spendable

  // The energy market (docs/market.md).
  /** The utility key at genesis; a rotation record names its successors. */
  XOnlyPubKey utility_key;
  std::uint32_t slot_blocks = 60;             //!< blocks per price slot
  std::uint64_t initial_a = 1, initial_b = 1, initial_c = 1;  //!< price coefficients at genesis
  std::uint64_t reward_units_per_mwh = 100'000'000;  //!< production reward: 1 coin per MWh
  Amount max_grant_per_meter = Coins(10);     //!< grants to one meter over all its registrations
  Amount max_total_grants = Coins(1'000'000); //!< grants over the whole chain
  std::uint64_t max_reading_future = 300;     //!< seconds a reading may end after the block time
  std::uint32_t max_reading_length = 86'400;  //!< longest reading interval, seconds
  std::uint32_t max_contest_window = 10'080;  //!< longest channel contest window, blocks
  std::uint32_t max_channel_lifetime = 1'051'200;  //!< expiry at most this many blocks ahead
  // Channel settlement (docs/channels.md).
  std::uint32_t max_channels_per_meter = 8;   //!< open channels one meter's readings may back
  std::uint32_t settlement_fee_percent = 1;   //!< x: miners' share of coins settled in a slot whose pool is empty
  Amount channel_dust{1000};                  //!< a settlement share below this is not paid out: it joins the fee

  std::uint16_t default_port = 0;
  Block genesis;
  Hash256 genesis_hash;
};

const Params& GetParams(Network network);
std::optional<Network> NetworkFromName(std::string_view name);
std::string_view NetworkName(Network network);

/**
 * The documented secret of a network's genesis utility key: SHA-256 of
 * "wattline <network> utility key". Public on purpose on every network this code defines, so
 * that a devnet or testnet can act as its utility out of the box (main has no operator yet:
 * its first utility must rotate the key before the market means anything).
 */
crypto::Hash256 DocumentedUtilitySecret(Network network);

/** The subsidy (Cin) of the block at height: halves every halving_interval, zero after 63. */
Amount BlockSubsidy(std::uint32_t height, const Params& params);

/** The genesis block of a network: a coinbase that pays nothing, with the given header fields. */
Block MakeGenesisBlock(std::uint64_t time, std::uint32_t bits, std::uint64_t nonce, std::string_view message);

}  // namespace wattline::consensus
