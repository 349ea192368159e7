#include "net/frame.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <string>

#include "crypto/hash.h"
#include "crypto/hex.h"
#include "net/protocol.h"

namespace wattline::net {
namespace {

// Indexed by Command. The limits are derived in net/protocol.h; docs/p2p.md shows the table.
constexpr std::array<CommandInfo, kCommandCount> kCommands{{
    {Command::kVersion, "version", kMaxVersionPayload},
    {Command::kVerack, "verack", 0},
    {Command::kPing, "ping", kMaxPingPayload},
    {Command::kPong, "pong", kMaxPingPayload},
    {Command::kGetAddr, "getaddr", 0},
    {Command::kAddr, "addr", kMaxAddrPayload},
    {Command::kInv, "inv", kMaxInvPayload},
    {Command::kGetData, "getdata", kMaxInvPayload},
    {Command::kNotFound, "notfound", kMaxInvPayload},
    {Command::kGetHeaders, "getheaders", kMaxGetHeadersPayload},
    {Command::kHeaders, "headers", kMaxHeadersPayload},
    {Command::kBlock, "block", kMaxBlockPayload},
    {Command::kTx, "tx", kMaxTxPayload},
    {Command::kReject, "reject", kMaxRejectPayload},
    {Command::kChannel, "channel", kMaxChannelPayload},
}};

constexpr bool TableIsIndexed() {
  for (std::size_t i = 0; i < kCommands.size(); ++i) {
    if (static_cast<std::size_t>(kCommands[i].command) != i) return false;
    if (kCommands[i].name.empty() || kCommands[i].name.size() > kCommandSize) return false;
  }
  return true;
}
static_assert(TableIsIndexed(), "kCommands must be indexed by Command and names fit 12 bytes");

std::uint32_t ReadU32LE(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace

std::span<const CommandInfo> CommandTable() { return kCommands; }

const CommandInfo& GetCommandInfo(Command c) { return kCommands[static_cast<std::size_t>(c)]; }

std::string_view CommandName(Command c) { return GetCommandInfo(c).name; }

std::optional<Command> CommandFromName(std::string_view name) {
  for (const auto& info : kCommands) {
    if (info.name == name) return info.command;
  }
  return std::nullopt;
}

std::uint32_t MaxPayloadOfAnyCommand() {
  std::uint32_t m = 0;
  for (const auto& info : kCommands) m = std::max(m, info.max_payload);
  return m;
}

std::string_view FrameErrorName(FrameError e) {
  switch (e) {
    case FrameError::kOk: return "ok";
    case FrameError::kBadMagic: return "frame-bad-magic";
    case FrameError::kMalformedCommand: return "frame-malformed-command";
    case FrameError::kUnknownCommand: return "frame-unknown-command";
    case FrameError::kOversize: return "frame-oversize";
    case FrameError::kBadChecksum: return "frame-bad-checksum";
  }
  return "unknown-frame-error";
}

std::array<std::uint8_t, 4> FrameChecksum(ByteSpan payload) {
  const crypto::Hash256 h = crypto::Sha256d(payload);
  return {h.bytes[0], h.bytes[1], h.bytes[2], h.bytes[3]};
}

Bytes EncodeFrame(const Magic& magic, Command command, ByteSpan payload) {
  const CommandInfo& info = GetCommandInfo(command);
  assert(payload.size() <= info.max_payload);
  Bytes out;
  out.reserve(kFrameHeaderSize + payload.size());
  out.insert(out.end(), magic.begin(), magic.end());
  std::array<std::uint8_t, kCommandSize> name{};
  std::memcpy(name.data(), info.name.data(), info.name.size());
  out.insert(out.end(), name.begin(), name.end());
  consensus::Writer w(out);
  w.U32(static_cast<std::uint32_t>(payload.size()));
  const auto sum = FrameChecksum(payload);
  out.insert(out.end(), sum.begin(), sum.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

FrameError FrameParser::Fail(FrameError e, std::string detail) {
  m_error = e;
  m_error_detail = std::move(detail);
  m_payload.clear();
  m_payload.shrink_to_fit();
  return e;
}

FrameError FrameParser::CheckHeader() {
  if (!std::equal(m_magic.begin(), m_magic.end(), m_header.begin())) {
    return Fail(FrameError::kBadMagic, "magic " + crypto::HexEncode(ByteSpan(m_header.data(), 4)));
  }
  const std::uint8_t* cmd = m_header.data() + 4;
  std::size_t len = 0;
  while (len < kCommandSize && cmd[len] != 0) ++len;
  const bool letters = std::all_of(cmd, cmd + len, [](std::uint8_t c) { return c >= 'a' && c <= 'z'; });
  const bool padding = std::all_of(cmd + len, cmd + kCommandSize, [](std::uint8_t c) { return c == 0; });
  if (len == 0 || !letters || !padding) {
    return Fail(FrameError::kMalformedCommand, "command bytes " + crypto::HexEncode(ByteSpan(cmd, kCommandSize)));
  }
  const std::string_view name(reinterpret_cast<const char*>(cmd), len);
  const auto command = CommandFromName(name);
  if (!command) return Fail(FrameError::kUnknownCommand, "command \"" + std::string(name) + "\"");
  const std::uint32_t size = ReadU32LE(m_header.data() + 16);
  const std::uint32_t max = GetCommandInfo(*command).max_payload;
  if (size > max) {
    return Fail(FrameError::kOversize,
                std::string(name) + " payload of " + std::to_string(size) + " bytes, limit " + std::to_string(max));
  }
  m_command = *command;
  m_payload_size = size;
  std::memcpy(m_checksum.data(), m_header.data() + 20, 4);
  m_in_payload = true;
  m_payload.clear();
  // Grow with what arrives: a peer that sends only headers does not make us allocate its
  // announced sizes up front.
  m_payload.reserve(std::min<std::size_t>(size, 64 * 1024));
  return FrameError::kOk;
}

FrameError FrameParser::Feed(ByteSpan data, std::vector<Frame>& frames) {
  if (m_error != FrameError::kOk) return m_error;
  std::size_t pos = 0;
  while (true) {
    if (!m_in_payload) {
      const std::size_t take = std::min(kFrameHeaderSize - m_header_filled, data.size() - pos);
      std::memcpy(m_header.data() + m_header_filled, data.data() + pos, take);
      m_header_filled += take;
      pos += take;
      if (m_header_filled < kFrameHeaderSize) return FrameError::kOk;  // data exhausted
      if (CheckHeader() != FrameError::kOk) return m_error;
    }
    const std::size_t take = std::min<std::size_t>(m_payload_size - m_payload.size(), data.size() - pos);
    m_payload.insert(m_payload.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
                     data.begin() + static_cast<std::ptrdiff_t>(pos + take));
    pos += take;
    if (m_payload.size() < m_payload_size) return FrameError::kOk;  // data exhausted
    if (FrameChecksum(m_payload) != m_checksum) {
      return Fail(FrameError::kBadChecksum, std::string(CommandName(m_command)) + " payload of " +
                                                std::to_string(m_payload_size) + " bytes");
    }
    frames.push_back(Frame{m_command, std::move(m_payload)});
    m_payload = Bytes();
    m_in_payload = false;
    m_header_filled = 0;
    if (pos == data.size()) return FrameError::kOk;
  }
}

}  // namespace wattline::net
