#include "node/mempool_file.h"

#include <array>

namespace wattline::node {

namespace {
constexpr std::array<std::uint8_t, 8> kMagic = {'W', 'L', 'M', 'E', 'M', 'P', 'L', '1'};
// Times past this are not times (and would overflow the expiry arithmetic).
constexpr std::uint64_t kMaxTime = std::uint64_t{1} << 40;
}  // namespace

consensus::Bytes EncodeMempoolFile(const std::vector<SavedTransaction>& entries) {
  consensus::Bytes out;
  consensus::Writer w(out);
  w.Raw(kMagic);
  for (const auto& e : entries) {
    w.U64(static_cast<std::uint64_t>(e.time));
    w.VarBytes(consensus::EncodeTransaction(*e.tx));
  }
  return out;
}

std::vector<SavedTransaction> DecodeMempoolFile(consensus::ByteSpan bytes, std::string* error) {
  std::vector<SavedTransaction> out;
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return out;
  };
  if (error) error->clear();
  consensus::Reader r(bytes);
  std::array<std::uint8_t, 8> magic{};
  if (!r.Raw(magic) || magic != kMagic) return fail("not a mempool file (bad magic)");
  while (r.remaining() > 0) {
    std::uint64_t time = 0;
    consensus::Bytes raw;
    if (!r.U64(time) || !r.VarBytes(raw, consensus::kMaxTxSize))
      return fail("record " + std::to_string(out.size()) + ": " + std::string(consensus::DecodeErrorName(r.error())));
    if (time > kMaxTime) return fail("record " + std::to_string(out.size()) + ": time out of range");
    consensus::TransactionRef tx;
    const consensus::DecodeError e = consensus::DecodeTransaction(raw, tx);
    if (e != consensus::DecodeError::kOk)
      return fail("record " + std::to_string(out.size()) + ": " + std::string(consensus::DecodeErrorName(e)));
    out.push_back({static_cast<std::int64_t>(time), std::move(tx)});
  }
  return out;
}

}  // namespace wattline::node
