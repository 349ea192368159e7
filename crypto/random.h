// Cryptographically secure random bytes from OpenSSL's DRBG (seeded by the OS).
#pragma once

#include <cstdint>
#include <span>

namespace wattline::crypto {

/** Fills out with secure random bytes. Aborts the process if the DRBG fails (it never should). */
void GetRandomBytes(std::span<std::uint8_t> out);

}  // namespace wattline::crypto
