// Protocol constants shared by the frame table (net/frame.cpp) and the message codec
// (net/messages.cpp). docs/p2p.md lists each with its reason.
#pragma once

#include <cstddef>
#include <cstdint>

#include "consensus/block.h"
#include "consensus/transaction.h"

namespace wattline::net {

/** Bumped when a message changes meaning; peers below kMinProtocolVersion are refused. */
inline constexpr std::uint32_t kProtocolVersion = 1;
inline constexpr std::uint32_t kMinProtocolVersion = 1;

/** Service bits of Version::services and AddrEntry::services. */
inline constexpr std::uint64_t kServiceNetwork = 1;  //!< serves the full chain
/** Bits this version knows; others are ignored (not refused), for forward compatibility. */
inline constexpr std::uint64_t kKnownServices = kServiceNetwork;

inline constexpr std::size_t kMaxAddrEntries = 1000;
inline constexpr std::size_t kMaxInvItems = 50'000;
inline constexpr std::size_t kMaxLocatorHashes = 101;
inline constexpr std::size_t kMaxHeaders = 2000;
inline constexpr std::size_t kMaxUserAgent = 256;
inline constexpr std::size_t kMaxRejectReason = 111;

// Worst-case protobuf sizes of valid messages, so that the frame limits hold every valid
// message and nothing much larger. A length-delimited field of L bytes (L < 128) takes
// 1 (tag) + 1 (length) + L; a uint64/int64 varint at most 1 + 10.
inline constexpr std::size_t kSlack = 64;  //!< room for a few small fields added later
/** ip 1+1+16, port 1+3, services 1+10, last_seen 1+10, and the entry's own tag and length. */
inline constexpr std::size_t kMaxAddrEntryWire = 18 + 4 + 11 + 11 + 2;
/** type 1+1, hash 1+1+32, and the item's own tag and length. */
inline constexpr std::size_t kMaxInvItemWire = 2 + 34 + 2;
inline constexpr std::size_t kHashFieldWire = 34;
/** tag, length (88 < 128) and the 88 header bytes. */
inline constexpr std::size_t kHeaderFieldWire = 2 + consensus::kHeaderSize;

inline constexpr std::uint32_t kMaxVersionPayload = 1024;
inline constexpr std::uint32_t kMaxPingPayload = 16;
inline constexpr std::uint32_t kMaxAddrPayload = kMaxAddrEntries * kMaxAddrEntryWire + kSlack;
inline constexpr std::uint32_t kMaxInvPayload = kMaxInvItems * kMaxInvItemWire + kSlack;
inline constexpr std::uint32_t kMaxGetHeadersPayload = (kMaxLocatorHashes + 1) * kHashFieldWire + kSlack;
inline constexpr std::uint32_t kMaxHeadersPayload = kMaxHeaders * kHeaderFieldWire + kSlack;
inline constexpr std::uint32_t kMaxBlockPayload = consensus::kMaxBlockSize + 100;
inline constexpr std::uint32_t kMaxTxPayload = consensus::kMaxTxSize + 100;
inline constexpr std::uint32_t kMaxRejectPayload = 256;
/** A channel message's canonical bytes (channels/messages.h, kMaxChannelMessage) and their field. */
inline constexpr std::size_t kMaxChannelBody = 64 * 1024;
inline constexpr std::uint32_t kMaxChannelPayload = kMaxChannelBody + 1 + 3;

}  // namespace wattline::net
