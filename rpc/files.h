// Small file helpers for secrets in the datadir (TLS key, credentials): owner-only files
// written once with O_EXCL and fsync, read with a size bound.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace wattline::rpc {

/** Creates dir (and parents) if missing and sets it to 0700. False with a message on failure. */
bool EnsurePrivateDir(const std::filesystem::path& dir, std::string& error);
/** Writes a new file with this mode, whole or not at all (fails if it exists), fsyncs it and its folder. */
bool WriteNewFile(const std::filesystem::path& path, std::string_view content, unsigned mode, std::string& error);
/** fsyncs a folder (so that a rename or link in it is durable). */
void SyncDirectory(const std::filesystem::path& dir);
/** Reads a whole file of at most max_bytes; nullopt with a message otherwise. */
std::optional<std::string> ReadSmallFile(const std::filesystem::path& path, std::size_t max_bytes, std::string& error);

}  // namespace wattline::rpc
