// P2P framing (docs/p2p.md, "Frames"): every message travels as one frame
//
//   offset  size  field
//        0     4  network magic (consensus::Params::magic)
//        4    12  command: ASCII [a-z], NUL-padded; no byte after the first NUL is non-NUL
//       16     4  payload length, u32 little-endian
//       20     4  checksum: the first 4 bytes of SHA256(SHA256(payload))
//       24     n  payload (a protobuf message of proto/wattline/p2p/v1/p2p.proto)
//
// FrameParser turns a byte stream, fed in chunks of any size as they come from a socket, into
// frames. The header is checked as soon as its 24 bytes are there, so an oversize frame is
// refused before a single payload byte is buffered: memory per connection is bounded by the
// largest allowed payload of a known command. Errors are final (the stream cannot be
// resynchronised): the caller drops the connection and scores the peer (net/misbehavior.h).
//
// Not thread-safe: one parser per connection, used by one strand at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/serialize.h"

namespace wattline::net {

using consensus::ByteSpan;
using consensus::Bytes;
using Magic = std::array<std::uint8_t, 4>;

inline constexpr std::size_t kFrameHeaderSize = 24;
inline constexpr std::size_t kCommandSize = 12;

/** The message types. Values are stable (they index tables and may be logged); append only. */
enum class Command : std::uint8_t {
  kVersion = 0,
  kVerack = 1,
  kPing = 2,
  kPong = 3,
  kGetAddr = 4,
  kAddr = 5,
  kInv = 6,
  kGetData = 7,
  kNotFound = 8,
  kGetHeaders = 9,
  kHeaders = 10,
  kBlock = 11,
  kTx = 12,
  kReject = 13,
  kChannel = 14,  //!< a channel message (channels/messages.h), carried opaque
};
inline constexpr std::size_t kCommandCount = 15;

/** One row of the command table: the wire name and the hard payload limit. */
struct CommandInfo {
  Command command;
  std::string_view name;     //!< wire name, e.g. "getheaders"
  std::uint32_t max_payload; //!< frames announcing more are refused from the header alone
};

/** The whole table, indexed by Command's value (docs/p2p.md, "Commands"). */
std::span<const CommandInfo> CommandTable();
const CommandInfo& GetCommandInfo(Command c);
std::string_view CommandName(Command c);
/** The command with this wire name (without padding), if any. */
std::optional<Command> CommandFromName(std::string_view name);
/** The largest max_payload of the table: the most a parser ever buffers. */
std::uint32_t MaxPayloadOfAnyCommand();

/** Why a byte stream is not a sequence of valid frames. Values are stable; append only. */
enum class FrameError : std::uint8_t {
  kOk = 0,
  kBadMagic = 1,          //!< the first 4 bytes are not our network's magic
  kMalformedCommand = 2,  //!< empty, a byte outside [a-z] before the NUL, or non-NUL after it
  kUnknownCommand = 3,    //!< well-formed but not in the command table
  kOversize = 4,          //!< announced length above the command's limit (checked from the header)
  kBadChecksum = 5,       //!< payload does not match the header's checksum
};

/** The stable text of a frame error, e.g. "frame-oversize". */
std::string_view FrameErrorName(FrameError e);

struct Frame {
  Command command = Command::kVerack;
  Bytes payload;
  friend bool operator==(const Frame&, const Frame&) = default;
};

/** The first 4 bytes of SHA256d(payload). */
std::array<std::uint8_t, 4> FrameChecksum(ByteSpan payload);

/**
 * The frame for a payload. Precondition: payload.size() <= GetCommandInfo(command).max_payload
 * (a programming error otherwise: we never send what we would refuse).
 */
Bytes EncodeFrame(const Magic& magic, Command command, ByteSpan payload);

class FrameParser {
 public:
  explicit FrameParser(const Magic& magic) : m_magic(magic) {}

  /**
   * Consumes all of data (or stops at the first error) and appends every frame it completes
   * to frames. Returns kOk, or the error, which is then also error() and returned by every
   * later call without reading anything. Frames completed before the error are appended.
   */
  FrameError Feed(ByteSpan data, std::vector<Frame>& frames);

  FrameError error() const { return m_error; }
  /** For logs: what was wrong (e.g. the command bytes, the announced length). */
  const std::string& error_detail() const { return m_error_detail; }
  /** Bytes held for the frame in progress (header bytes plus payload bytes so far). */
  std::size_t buffered() const { return m_header_filled + m_payload.size(); }

 private:
  FrameError Fail(FrameError e, std::string detail);
  FrameError CheckHeader();

  Magic m_magic;
  std::array<std::uint8_t, kFrameHeaderSize> m_header{};
  std::size_t m_header_filled = 0;
  bool m_in_payload = false;  //!< header accepted, reading m_payload_size bytes
  Command m_command = Command::kVerack;
  std::uint32_t m_payload_size = 0;
  std::array<std::uint8_t, 4> m_checksum{};
  Bytes m_payload;
  FrameError m_error = FrameError::kOk;
  std::string m_error_detail;
};

}  // namespace wattline::net
