// Market records and market state: decode -> encode -> decode round trips.
//
// Input: a selector byte, then a payload. The selector's low bits choose the record kind (one
// of the six market kinds); its top bit asks for a version from the next byte instead of the
// current one. Checked: a payload that decodes is the one canonical encoding of what it
// decodes to (MakeRecord gives the same payload back, of the same kind and version, and that
// decodes to an equal record); a payload that does not decode says why; the signature hashes
// of a decoded record are computable. The whole input is also decoded as a MeterState, as
// MarketGlobals, as a ChannelState, as a WatchList and as a whole record (kind, version,
// payload), with the same round trip (a version-1 meter state or globals re-encodes as
// version 2 with the channel fields zero).
#include "consensus/market.h"
#include "consensus/market_state.h"
#include "consensus/params.h"
#include "consensus/transaction.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {

constexpr RecordKind kKinds[] = {RecordKind::kMeterRegistration, RecordKind::kReadings,
                                 RecordKind::kPriceCoefficients, RecordKind::kChannelFunding,
                                 RecordKind::kUtilityKeyRotation, RecordKind::kMeterDeregistration};

void CheckRecord(const Record& rec) {
  MarketRecord m;
  const DecodeError e = DecodeMarketRecord(rec, m);
  if (e != DecodeError::kOk) {
    fuzz::CheckFailure(e);
    FUZZ_CHECK(IsMarketKind(rec.kind) || e == DecodeError::kUnknownRecordKind);
    return;
  }
  FUZZ_CHECK(IsMarketKind(rec.kind));
  FUZZ_CHECK(rec.version == kMarketRecordVersion);
  const Record again = MakeRecord(m);
  FUZZ_CHECK(again.kind == rec.kind);
  FUZZ_CHECK(again.version == rec.version);
  FUZZ_CHECK(fuzz::SameBytes(again.payload, rec.payload));  // canonical
  MarketRecord back;
  FUZZ_CHECK(DecodeMarketRecord(again, back) == DecodeError::kOk);
  FUZZ_CHECK(back == m);

  const Params& params = GetParams(Network::kRegtest);
  if (const auto* batch = std::get_if<ReadingBatch>(&m)) {
    FUZZ_CHECK(!batch->readings.empty() && batch->readings.size() <= kMaxReadingsPerBatch);
    if (batch->series) FUZZ_CHECK(IsRawSha256Cid(*batch->series));
    for (const Reading& r : batch->readings) {
      (void)ReadingSigHash(params, r);
      const Bytes enc = EncodeReading(r);
      FUZZ_CHECK(enc.size() == kReadingSize);
      Reader rd(enc);
      Reading x;
      FUZZ_CHECK(DecodeReading(rd, x) && rd.remaining() == 0 && x == r);
    }
  }
  // The utility signature hash ignores the signature; SetUtilitySignature changes nothing else.
  MarketRecord resigned = m;
  const OutPoint op{};
  const Hash256 h = UtilitySigHash(params, op, m);
  Signature s;
  s.bytes.fill(0xab);
  const bool utility = SetUtilitySignature(resigned, s);
  FUZZ_CHECK(utility == !(std::holds_alternative<ReadingBatch>(m) || std::holds_alternative<ChannelFunding>(m)));
  if (utility) {
    FUZZ_CHECK(UtilitySigHash(params, op, resigned) == h);
    FUZZ_CHECK(MakeRecord(resigned).payload.size() == rec.payload.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteSpan in = fuzz::Input(data, size);

  // A market record's payload, of the selected kind.
  {
    const std::uint8_t sel = data[0];
    std::size_t pos = 1;
    Record rec;
    rec.kind = kKinds[(sel & 0x7f) % std::size(kKinds)];
    rec.version = kMarketRecordVersion;
    if ((sel & 0x80) && size > 1) {
      rec.version = data[1];
      pos = 2;
    }
    rec.payload.assign(data + pos, data + size);
    CheckRecord(rec);
  }

  // The whole input as a record (kind, version, payload), as a transaction carries it.
  {
    Reader r(in);
    Record rec;
    if (DecodeRecord(r, rec) && r.ExpectEnd()) {
      Bytes enc;
      Writer w(enc);
      EncodeRecord(w, rec);
      FUZZ_CHECK(fuzz::SameBytes(enc, in));
      if (IsMarketKind(rec.kind)) CheckRecord(rec);
    }
  }

  // The market state's encodings. Version 1 of the meter state and the globals (before
  // channels) still decodes and re-encodes as version 2 with the new fields zero.
  if (in[0] == 1) {
    MeterState meter, again;
    if (DecodeMeterState(in, meter) == DecodeError::kOk) {
      FUZZ_CHECK(meter.channels == 0);
      FUZZ_CHECK(DecodeMeterState(EncodeMeterState(meter), again) == DecodeError::kOk && again == meter);
    }
    MarketGlobals globals, back;
    if (DecodeGlobals(in, globals) == DecodeError::kOk) {
      FUZZ_CHECK(globals.pool_in_total == 0 && globals.channels_settled == 0);
      FUZZ_CHECK(DecodeGlobals(EncodeGlobals(globals), back) == DecodeError::kOk && back == globals);
    }
  } else {
    MeterState meter;
    fuzz::CheckRoundTrip(
        in, meter, [](ByteSpan b, MeterState& x) { return DecodeMeterState(b, x); },
        [](const MeterState& x) { return EncodeMeterState(x); }, std::equal_to<>{});
    MarketGlobals globals;
    if (fuzz::CheckRoundTrip(
            in, globals, [](ByteSpan b, MarketGlobals& x) { return DecodeGlobals(b, x); },
            [](const MarketGlobals& x) { return EncodeGlobals(x); }, std::equal_to<>{}))
      FUZZ_CHECK(globals.pool_out_total <= globals.pool_in_total);
  }
  ChannelState channel;
  fuzz::CheckRoundTrip(
      in, channel, [](ByteSpan b, ChannelState& x) { return DecodeChannelState(b, x); },
      [](const ChannelState& x) { return EncodeChannelState(x); }, std::equal_to<>{});
  WatchList watch;
  fuzz::CheckRoundTrip(
      in, watch, [](ByteSpan b, WatchList& x) { return DecodeWatchList(b, x); },
      [](const WatchList& x) { return EncodeWatchList(x); }, std::equal_to<>{});
  return 0;
}
