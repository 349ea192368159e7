// Small state files (the address book, the ban list) that survive crashes and detect damage.
//
// File layout (docs/p2p.md, "State files"):
//
//   kind (4 ASCII bytes, e.g. "WLAB") | u32 format version | network magic (4) |
//   payload | SHA256d(everything before) (32)
//
// Writes are atomic: the bytes go to "<path>.tmp", which is fsynced, renamed over <path>, and
// the directory is fsynced; a crash leaves the old file or the new one, never a torn one.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>

#include "consensus/serialize.h"
#include "ledger/status.h"

namespace wattline::net {

using FileKind = std::array<char, 4>;

/** Writes bytes to path atomically (see above). IoError on any failure (the old file stays). */
ledger::Status WriteFileAtomic(const std::filesystem::path& path, consensus::ByteSpan bytes);

/** Wraps payload in the header and checksum above. */
consensus::Bytes SealState(const FileKind& kind, std::uint32_t version, const std::array<std::uint8_t, 4>& magic,
                           consensus::ByteSpan payload);

/**
 * Reads path and checks kind, version, magic and checksum; on success payload is what was
 * sealed. NotFound if there is no file; IoError if it cannot be read or is above max_bytes;
 * Corruption (with what is wrong) for a bad kind, version or checksum; WrongNetwork for a
 * file of another network.
 */
ledger::Status ReadSealedState(const std::filesystem::path& path, const FileKind& kind, std::uint32_t version,
                               const std::array<std::uint8_t, 4>& magic, std::size_t max_bytes,
                               consensus::Bytes& payload);

/** Renames a damaged file to "<path>.corrupt" (replacing an older one) so that it is kept for
 *  inspection and the next save does not overwrite it. Best effort. */
void SetAsideCorruptFile(const std::filesystem::path& path);

}  // namespace wattline::net
