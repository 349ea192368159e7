// Every P2P message decoder. Input: one byte choosing the command, then the payload.
// A payload that decodes re-encodes to a payload within the command's frame limit that decodes
// to an equal message, and encoding is deterministic (decode -> encode -> decode -> encode gives
// the same bytes twice). A payload that does not decode names an error that has a penalty of
// the same name.
#include "consensus/params.h"
#include "fuzz_util.h"
#include "net/messages.h"
#include "net/misbehavior.h"

using namespace wattline;
using namespace wattline::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto command = static_cast<Command>(data[0] % kCommandCount);
  const ByteSpan payload(data + 1, size - 1);

  Message msg;
  const DecodeResult r = DecodeMessage(command, payload, msg);
  if (!r.ok()) {
    FUZZ_CHECK(MessageErrorName(r.error) != "unknown-message-error");
    FUZZ_CHECK(PenaltyFor(r.error).why == MessageErrorName(r.error));
    FUZZ_CHECK(PenaltyFor(r.error).score > 0);
    return 0;
  }
  FUZZ_CHECK(CommandOf(msg) == command);
  const Bytes once = EncodePayload(msg);
  FUZZ_CHECK(once.size() <= GetCommandInfo(command).max_payload);
  Message again;
  FUZZ_CHECK(DecodeMessage(command, once, again).ok());
  FUZZ_CHECK(again == msg);
  FUZZ_CHECK(fuzz::SameBytes(EncodePayload(again), once));

  // Through a frame and back.
  const auto& magic = consensus::GetParams(consensus::Network::kRegtest).magic;
  FrameParser parser(magic);
  std::vector<Frame> frames;
  FUZZ_CHECK(parser.Feed(EncodeMessage(magic, msg), frames) == FrameError::kOk);
  FUZZ_CHECK(frames.size() == 1 && frames[0].command == command && fuzz::SameBytes(frames[0].payload, once));
  return 0;
}
