// Channel settlement (consensus/channel.h): the settlement record's decoder and the settlement
// arithmetic.
//
// Input: the whole input is decoded as a settlement record (canonical round trip; the
// commitment hash of a decoded post is computable). Its first 8 * 7 bytes, read as seven
// little-endian u64 values, also drive the arithmetic, checked to conserve coins: shares plus
// fee (and pool) always equal the coins in; payers that cannot cover a fee are refused; no
// paid share is below the dust bound; a slot's pool shares sum to the pool.
#include <cstring>

#include "consensus/channel.h"
#include "consensus/params.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan in = fuzz::Input(data, size);
  ChannelSettlement s;
  if (fuzz::CheckRoundTrip(
          in, s, [](ByteSpan b, ChannelSettlement& x) { return DecodeSettlement(b, x); },
          [](const ChannelSettlement& x) { return EncodeSettlement(x); }, std::equal_to<>{})) {
    (void)CommitmentSigHash(GetParams(Network::kRegtest), s.AsCommitment());
    FUZZ_CHECK(s.evidence.size() <= kMaxEvidenceReadings);
  }

  std::uint64_t v[7] = {};
  std::memcpy(v, data, std::min(size, sizeof v));
  const std::uint64_t max = static_cast<std::uint64_t>(kMaxMoney.units);
  const std::uint64_t cwa = v[0] % (max + 1), cwb = v[1] % (max + 1), cwu = v[2] % (max + 1);
  if (auto shares = StateShares(cwa, cwb, cwu, v[3])) {
    FUZZ_CHECK(v[3] <= cwa);
    const std::uint64_t fee = v[4] % (cwa + cwb + cwu + 2);
    const std::vector<Party> payers{Party::kA, Party::kB, Party::kU};
    const std::vector<Party> used(payers.begin(), payers.begin() + static_cast<std::ptrdiff_t>(v[5] % 4));
    std::uint64_t cover = 0;
    for (Party p : used) cover += (*shares)[static_cast<std::size_t>(p)];
    const std::uint64_t dust = v[6] % 100'000;
    auto payout = ApplyFee(*shares, fee, used, dust);
    FUZZ_CHECK(payout.has_value() == (cover >= fee));
    if (payout) {
      FUZZ_CHECK(payout->shares[0] + payout->shares[1] + payout->shares[2] + payout->fee == cwa + cwb + cwu);
      for (std::uint64_t x : payout->shares) FUZZ_CHECK(x == 0 || x >= dust);
    }
  }
  const std::uint64_t energy = v[3], price = v[4];
  if (auto p = PenaltyShares(cwa, cwb, cwu, energy, price, v[5], v[6])) {
    FUZZ_CHECK(v[6] < energy);
    FUZZ_CHECK(p->shares[0] + p->shares[1] + p->shares[2] + p->pool == cwa + cwb + cwu);
    FUZZ_CHECK(p->delivered_wh <= p->received_wh && p->received_wh <= energy);
  }
  if (auto d = DeliveredShares(cwa, cwb, cwu, energy, price, v[5]))
    FUZZ_CHECK((*d)[0] + (*d)[1] + (*d)[2] == cwa + cwb + cwu);
  FUZZ_CHECK(SettlementFee(v[0], static_cast<std::uint32_t>(v[1])) <= v[0]);
  const std::uint32_t slot_blocks = 1 + static_cast<std::uint32_t>(v[2] % 300);
  const std::uint64_t pool = v[3] % (max + 1);
  std::uint64_t sum = 0;
  for (std::uint32_t h = 0; h < slot_blocks; ++h) sum += PoolShare(pool, slot_blocks, h);
  FUZZ_CHECK(sum == pool);
  return 0;
}
