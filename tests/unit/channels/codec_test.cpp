// The channel messages and the channel record: every type round-trips, every strict prefix is
// refused, a decoded mutation re-encodes to itself (one encoding per message), and each named
// refusal (unknown type, error code, change of 0, a payload that is not a funding, unprintable
// text, unknown record version, role or phase) holds.
#include <gtest/gtest.h>

#include "channels/channel_record.h"
#include "channels/messages.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
using namespace wattline::channels;
using consensus::Amount;
using consensus::Condition;
using consensus::DecodeError;
using consensus::TxOut;

namespace {

Hash256 H(std::uint8_t fill) {
  Hash256 h;
  h.bytes.fill(fill);
  return h;
}
Signature S(std::uint8_t fill) {
  Signature s;
  s.bytes.fill(fill);
  return s;
}

consensus::ChannelFunding SampleFunding() {
  consensus::ChannelFunding f;
  f.consumer = test::TestKey(1).PubKey();
  f.producer = test::TestKey(2).PubKey();
  f.utility = test::TestKey(3).PubKey();
  f.consumer_meter = test::TestKey(4).PubKey();
  f.producer_meter = test::TestKey(5).PubKey();
  f.energy_wh = 2'500;
  f.slot = 7;
  f.price = 382;
  f.cwa = 955'000;
  f.cwb = 1'000'000;
  f.expiry = 500;
  f.contest_window = 6;
  f.delivery_start = 1'800'000'000;
  f.delivery_end = 1'800'003'600;
  return f;
}

std::vector<FundingInput> Inputs() {
  return {{{H(0x11), 0}, {Amount{600'000}, Condition::Key(test::TestKey(1).PubKey())}},
          {{H(0x12), 3}, {Amount{400'000}, Condition::Key(test::TestKey(1).PubKey())}}};
}

std::vector<ChannelMessage> Samples() {
  const ChannelId ch{H(0x33), 0};
  const TxOut change{Amount{43'000}, Condition::Key(test::TestKey(1).PubKey())};
  return {
      OpenMsg{H(0x01), SampleFunding(), 2'000, Inputs(), change},
      AcceptMsg{H(0x01), Inputs(), std::nullopt},
      FundingCreatedMsg{H(0x01), S(0xa0)},
      FundingSignedMsg{H(0x01), S(0xb0), {S(0xb1), S(0xb2)}},
      UpdateMsg{ch, 7, 12'345, S(0xa7)},
      UpdateAckMsg{ch, 7, S(0xb7)},
      CloseMsg{ch, 12'345, 8'000, S(0xc1)},
      CloseAckMsg{ch, S(0xc2)},
      ReestablishMsg{ch, 7},
      TowerUpdateMsg{{ch, 7, 12'345, 2'000}, S(0xa7), S(0xb7)},
      ErrorMsg{H(0x01), ErrorCode::kBadState, "state 9 does not follow 7"},
      ArbitrateMsg{ch, consensus::SettlementPath::kPenalty, 3'000, S(0xd1)},
      ArbitrateAckMsg{ch, S(0xd2)},
      StateMsg{{ch, 9, 13'000, 2'000}, S(0xa9), S(0xb9)},
  };
}

TEST(ChannelMessages, EveryTypeRoundTripsAndNoPrefixDecodes) {
  const auto samples = Samples();
  ASSERT_EQ(samples.size(), std::variant_size_v<ChannelMessage>);
  for (const auto& m : samples) {
    const Bytes bytes = EncodeChannelMessage(m);
    EXPECT_EQ(bytes[0], m.index() + 1);
    ChannelMessage back;
    ASSERT_EQ(DecodeChannelMessage(bytes, back), DecodeError::kOk) << MessageName(m);
    EXPECT_EQ(back, m) << MessageName(m);
    for (std::size_t n = 0; n < bytes.size(); ++n)
      EXPECT_NE(DecodeChannelMessage({bytes.data(), n}, back), DecodeError::kOk) << MessageName(m) << " prefix " << n;
    Bytes longer = bytes;
    longer.push_back(0);
    EXPECT_EQ(DecodeChannelMessage(longer, back), DecodeError::kTrailingBytes) << MessageName(m);
  }
}

TEST(ChannelMessages, EveryDecodedMutationReencodesToItself) {
  for (const auto& m : Samples()) {
    const Bytes bytes = EncodeChannelMessage(m);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      Bytes x = bytes;
      x[i] ^= 0x5a;
      ChannelMessage back;
      if (DecodeChannelMessage(x, back) == DecodeError::kOk) EXPECT_EQ(EncodeChannelMessage(back), x) << MessageName(m) << " byte " << i;
    }
  }
}

TEST(ChannelMessages, NamedRefusals) {
  ChannelMessage out;
  EXPECT_EQ(DecodeChannelMessage(Bytes{}, out), DecodeError::kTruncated);
  EXPECT_EQ(DecodeChannelMessage(Bytes{0}, out), DecodeError::kBadFieldValue);   // type 0
  EXPECT_EQ(DecodeChannelMessage(Bytes{15}, out), DecodeError::kBadFieldValue);  // type 15
  Bytes arb = EncodeChannelMessage(ArbitrateMsg{{H(2), 0}, consensus::SettlementPath::kPenalty, 1, S(3)});
  arb[1 + 36] = static_cast<std::uint8_t>(consensus::SettlementPath::kCooperative);  // only penalty or delivered
  EXPECT_EQ(DecodeChannelMessage(arb, out), DecodeError::kBadFieldValue);
  Bytes err = EncodeChannelMessage(ErrorMsg{H(1), ErrorCode::kRefused, "no"});
  err[1 + 32] = 9;  // unknown code
  EXPECT_EQ(DecodeChannelMessage(err, out), DecodeError::kBadFieldValue);
  EXPECT_EQ(DecodeChannelMessage(EncodeChannelMessage(ErrorMsg{H(1), ErrorCode::kRefused, "tab\there"}), out),
            DecodeError::kBadFieldValue);
  // A change of 0 has one encoding: none.
  Bytes accept = EncodeChannelMessage(AcceptMsg{H(1), Inputs(), TxOut{Amount{1}, Condition::Key(test::TestKey(1).PubKey())}});
  const std::size_t amount_at = accept.size() - 33 - 8;  // u64 amount, then Key (tag + 32 bytes)
  std::fill(accept.begin() + static_cast<std::ptrdiff_t>(amount_at), accept.begin() + static_cast<std::ptrdiff_t>(amount_at + 8), 0);
  EXPECT_EQ(DecodeChannelMessage(accept, out), DecodeError::kBadFieldValue);
  // Too many inputs.
  AcceptMsg many{H(1), std::vector<FundingInput>(kMaxFundingInputs + 1, Inputs()[0]), std::nullopt};
  EXPECT_EQ(DecodeChannelMessage(EncodeChannelMessage(many), out), DecodeError::kCountTooLarge);
  // The open's funding payload must be a funding record: cut one byte off the payload.
  Bytes open = EncodeChannelMessage(Samples()[0]);
  open[1 + 32] -= 1;
  open.erase(open.begin() + 1 + 32 + 1 + 10);
  EXPECT_EQ(DecodeChannelMessage(open, out), DecodeError::kBadFieldValue);
}

ChannelRecord SampleRecord() {
  ChannelRecord r;
  r.temp_id = H(0x01);
  r.role = Role::kProducer;
  r.phase = Phase::kOpen;
  r.funding = SampleFunding();
  r.commit_fee = 2'000;
  r.a_inputs = Inputs();
  r.a_change = TxOut{Amount{43'000}, Condition::Key(test::TestKey(1).PubKey())};
  r.b_inputs = {Inputs()[1]};
  r.channel = {H(0x33), 0};
  r.state = 41;
  r.cc = 99'000;
  r.sig_a = S(0xa1);
  r.sig_b = S(0xb1);
  r.pending = true;
  r.pending_cc = 100'000;
  r.pending_sig_a = S(0xa2);
  r.close_cc = 99'000;
  r.close_fee = 8'000;
  r.close_signed = true;
  r.close_sig_a = S(0xc1);
  r.close_sig_b = S(0xc2);
  r.funding_tx = {1, 2, 3};
  r.peer = "127.0.0.1:39733";
  return r;
}

TEST(ChannelRecordCodec, RoundTripsAndRefusesWhatIsNotARecord) {
  for (ChannelRecord r : {SampleRecord(), ChannelRecord{}}) {
    if (r.funding.energy_wh == 0) r.funding = SampleFunding();  // the default record has no valid funding
    const Bytes bytes = EncodeChannelRecord(r);
    ChannelRecord back;
    ASSERT_EQ(DecodeChannelRecord(bytes, back), DecodeError::kOk);
    EXPECT_EQ(back, r);
    for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_NE(DecodeChannelRecord({bytes.data(), n}, back), DecodeError::kOk);
  }
  Bytes bytes = EncodeChannelRecord(SampleRecord());
  ChannelRecord back;
  for (auto [at, value] : {std::pair{0, 2}, std::pair{33, 3}, std::pair{34, 8}, std::pair{34, 0}}) {
    Bytes x = bytes;
    x[static_cast<std::size_t>(at)] = static_cast<std::uint8_t>(value);  // version, role, phase
    EXPECT_EQ(DecodeChannelRecord(x, back), DecodeError::kBadFieldValue) << at << "=" << value;
  }
}

TEST(ChannelRecordCodec, FundingTransactionIsTheSameForBothSides) {
  ChannelRecord r = SampleRecord();
  const auto tx = FundingTransaction(r);
  ASSERT_EQ(tx.inputs.size(), 3u);
  EXPECT_EQ(tx.inputs[0].prevout, r.a_inputs[0].prevout);
  EXPECT_EQ(tx.inputs[2].prevout, r.b_inputs[0].prevout);
  ASSERT_EQ(tx.outputs.size(), 2u);  // the channel output and A's change (B has none)
  EXPECT_EQ(tx.outputs[0].amount.units, 1'955'000);
  EXPECT_EQ(tx.outputs[1], *r.a_change);
  r.role = Role::kConsumer;  // who builds it does not matter
  r.phase = Phase::kProposed;
  EXPECT_EQ(FundingTransaction(r).ComputeTxid(), tx.ComputeTxid());
}

}  // namespace
