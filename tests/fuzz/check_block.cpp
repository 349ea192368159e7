// Block validation: the parts agree.
//
// Input: a block (canonical encoding) followed by 25 bytes that choose the header context
// (height, whether the expected bits are the header's own, median time past, the clock); the
// context is read from the end, so the block is everything before it.
//
// Checked: CheckBlock and ContextualCheckHeader never crash and say why they reject; a block
// that passes CheckBlock has its merkle root equal to BlockMerkleRoot, the coinbase first and
// only there, every transaction passing CheckTransaction, no repeated txid, and its coinbase
// stating a height that CheckCoinbaseHeight accepts (and no other); a header that passes
// ContextualCheckHeader has the expected bits and a time inside the window.
#include <fuzzer/FuzzedDataProvider.h>

#include <set>

#include "consensus/block_check.h"
#include "consensus/tx_check.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  // From the end: 4 + 1 + 8 + 4 + 8 bytes.
  HeaderContext ctx;
  ctx.height = fdp.ConsumeIntegral<std::uint32_t>();
  const bool own_bits = fdp.ConsumeBool();
  ctx.median_time_past = fdp.ConsumeIntegral<std::uint64_t>();
  ctx.expected_bits = fdp.ConsumeIntegral<std::uint32_t>();
  ctx.now = fdp.ConsumeIntegral<std::int64_t>();
  const Bytes bytes = fdp.ConsumeRemainingBytes<std::uint8_t>();

  Block block;
  if (DecodeBlock(bytes, block) != DecodeError::kOk) return 0;
  const Params& params = GetParams(Network::kRegtest);
  if (own_bits) ctx.expected_bits = block.header.bits;

  ValidationState header_state;
  const bool header_ok = CheckBlockHeader(block.header, params, header_state);
  FUZZ_CHECK(header_ok == header_state.IsValid());

  ValidationState ctx_state;
  const bool ctx_ok = ContextualCheckHeader(block.header, ctx, params, ctx_state);
  FUZZ_CHECK(ctx_ok == ctx_state.IsValid());
  if (ctx_ok) {
    FUZZ_CHECK(block.header.bits == ctx.expected_bits);
    FUZZ_CHECK(block.header.time > ctx.median_time_past);
    if (ctx.now >= 0 && block.header.time > static_cast<std::uint64_t>(ctx.now))
      FUZZ_CHECK(block.header.time - static_cast<std::uint64_t>(ctx.now) <=
                 static_cast<std::uint64_t>(params.max_future_block_time));
  } else if (ctx_state.reason() == Reason::kBlockTimeTooNew) {
    FUZZ_CHECK(ctx_state.category() == Category::kPremature);
  }

  ValidationState state;
  const bool ok = CheckBlock(block, params, state);
  FUZZ_CHECK(ok == state.IsValid());
  if (!ok) {
    FUZZ_CHECK(!ReasonCode(state.reason()).empty());
    if (!header_ok) FUZZ_CHECK(state.reason() == header_state.reason());
    return 0;
  }
  FUZZ_CHECK(header_ok);
  FUZZ_CHECK(block.header.merkle_root == BlockMerkleRoot(block));
  FUZZ_CHECK(!block.txs.empty() && block.txs[0]->IsCoinbase());
  std::set<Hash256> txids;
  for (std::size_t i = 0; i < block.txs.size(); ++i) {
    FUZZ_CHECK(block.txs[i]->IsCoinbase() == (i == 0));
    FUZZ_CHECK(txids.insert(block.txs[i]->txid()).second);
    ValidationState tx_state;
    FUZZ_CHECK(CheckTransaction(*block.txs[i], tx_state));
  }
  const auto stated = CoinbaseHeight(block.txs[0]->record());
  FUZZ_CHECK(stated.has_value());
  ValidationState cb_state;
  FUZZ_CHECK(CheckCoinbaseHeight(block, *stated, cb_state));
  ValidationState wrong_state;
  FUZZ_CHECK(!CheckCoinbaseHeight(block, *stated + 1, wrong_state));
  FUZZ_CHECK(wrong_state.reason() == Reason::kBlockCoinbaseHeight);
  return 0;
}
