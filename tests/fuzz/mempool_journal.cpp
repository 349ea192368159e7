// mempool.journal from a damaged or hostile disk (a torn tail after kill -9 is the normal
// case): decoding never crashes; the records it keeps re-encode to exactly the bytes they came
// from, which are the first good_bytes of the input; and it explains any stop.
#include <string>

#include "fuzz_util.h"
#include "node/mempool_journal.h"

using namespace wattline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const consensus::ByteSpan in = fuzz::Input(data, size);
  std::string error;
  std::size_t good = 0;
  const auto records = node::DecodeMempoolJournal(in, &error, &good);
  FUZZ_CHECK(good <= in.size());
  if (error.empty()) FUZZ_CHECK(good == in.size());
  if (!records.empty()) {
    consensus::Bytes again(node::kMempoolJournalMagic, node::kMempoolJournalMagic + 8);
    for (const auto& tx : records) {
      FUZZ_CHECK(tx != nullptr);
      const consensus::Bytes r = node::EncodeMempoolJournalRecord(*tx);
      again.insert(again.end(), r.begin(), r.end());
    }
    FUZZ_CHECK(again.size() == good);
    FUZZ_CHECK(fuzz::SameBytes(again, in.first(good)));
  }
  return 0;
}
