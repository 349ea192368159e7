#include "crypto/random.h"

#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace wattline::crypto {

void GetRandomBytes(std::span<std::uint8_t> out) {
  // Keys made from a failed DRBG would be predictable: stopping is the only safe answer.
  if (out.size() > INT_MAX || RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    std::fputs("fatal: OpenSSL RAND_bytes failed\n", stderr);
    std::abort();
  }
}

}  // namespace wattline::crypto
