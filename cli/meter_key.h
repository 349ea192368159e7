#pragma once
// Meter key files for devices that cannot make their own key (`wattline-cli meter provision`).
//
// The file holds the BIP340 secret as 64 hex digits and a newline, the format that
// `wattlined --utility-key` and `wattline-meters` read. It is written once: created exclusively
// (an existing file, even an empty one, is never replaced), owner-only (mode 0600) and synced
// to disk before its public key is printed, so a key that was handed out cannot be lost to a
// crash or silently overwritten by a second run.
#include <filesystem>
#include <string>

namespace wattline::cli {

struct MeterKeyResult {
  bool ok = false;
  std::string pubkey_hex;  //!< x-only public key: what `registermeter` takes
  std::string error;       //!< why not, when !ok
};

/** Creates a fresh key at path; fails (and changes nothing) if path exists or cannot be written. */
MeterKeyResult ProvisionMeterKey(const std::filesystem::path& path);

/** Reads a key file and returns its public key. */
MeterKeyResult ReadMeterKey(const std::filesystem::path& path);

}  // namespace wattline::cli
