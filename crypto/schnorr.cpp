#include "crypto/schnorr.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crypto/random.h"

namespace wattline::crypto {

namespace {

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "fatal: libsecp256k1: %s\n", what);
  std::abort();
}

// Created once; randomisation blinds the signing computations against timing and power
// side channels.
const secp256k1_context* SigningContext() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (c == nullptr) Fatal("context_create failed");
    std::array<std::uint8_t, 32> seed;
    GetRandomBytes(seed);
    if (secp256k1_context_randomize(c, seed.data()) != 1) Fatal("context_randomize failed");
    return c;
  }();
  return ctx;
}

void Wipe(void* p, std::size_t n) {
  // volatile stores so that the compiler cannot drop them as dead.
  volatile std::uint8_t* v = static_cast<volatile std::uint8_t*>(p);
  while (n--) *v++ = 0;
}

secp256k1_keypair MakeKeypair(const std::array<std::uint8_t, 32>& sk) {
  secp256k1_keypair kp;
  if (secp256k1_keypair_create(SigningContext(), &kp, sk.data()) != 1)
    Fatal("keypair_create failed on a checked key");
  return kp;
}

}  // namespace

bool XOnlyPubKey::IsValid() const {
  secp256k1_xonly_pubkey pk;
  return secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, bytes.data()) == 1;
}

SecretKey SecretKey::Generate() {
  for (;;) {
    std::array<std::uint8_t, 32> raw;
    GetRandomBytes(raw);
    auto key = FromBytes(raw);
    Wipe(raw.data(), raw.size());
    if (key) return *key;  // fails with probability ~2^-128
  }
}

std::optional<SecretKey> SecretKey::FromBytes(std::span<const std::uint8_t> bytes32) {
  if (bytes32.size() != 32) return std::nullopt;
  if (secp256k1_ec_seckey_verify(secp256k1_context_static, bytes32.data()) != 1) return std::nullopt;
  SecretKey k;
  std::memcpy(k.m_bytes.data(), bytes32.data(), 32);
  return k;
}

SecretKey::~SecretKey() { Wipe(m_bytes.data(), m_bytes.size()); }

XOnlyPubKey SecretKey::PubKey() const {
  secp256k1_keypair kp = MakeKeypair(m_bytes);
  secp256k1_xonly_pubkey xpk;
  if (secp256k1_keypair_xonly_pub(secp256k1_context_static, &xpk, nullptr, &kp) != 1)
    Fatal("keypair_xonly_pub failed");
  XOnlyPubKey out;
  if (secp256k1_xonly_pubkey_serialize(secp256k1_context_static, out.bytes.data(), &xpk) != 1)
    Fatal("xonly_pubkey_serialize failed");
  Wipe(&kp, sizeof(kp));
  return out;
}

Signature SecretKey::Sign(const Hash256& msg, const std::optional<Hash256>& aux) const {
  Hash256 aux_rand;
  if (aux) {
    aux_rand = *aux;
  } else {
    GetRandomBytes(aux_rand.bytes);
  }
  return SignMessage(msg.span(), aux_rand);
}

Signature SecretKey::SignMessage(ByteSpan msg, const Hash256& aux) const {
  secp256k1_keypair kp = MakeKeypair(m_bytes);
  secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
  extra.ndata = const_cast<std::uint8_t*>(aux.bytes.data());
  Signature sig;
  if (secp256k1_schnorrsig_sign_custom(SigningContext(), sig.bytes.data(), msg.data(), msg.size(), &kp,
                                       &extra) != 1)
    Fatal("schnorrsig_sign_custom failed");
  Wipe(&kp, sizeof(kp));
  return sig;
}

static_assert(sizeof(secp256k1_xonly_pubkey) == 64, "ParsedPubKey stores a secp256k1_xonly_pubkey");

std::optional<ParsedPubKey> ParsedPubKey::Parse(const XOnlyPubKey& key) {
  secp256k1_xonly_pubkey pk;
  if (secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, key.bytes.data()) != 1) return std::nullopt;
  ParsedPubKey out;
  std::memcpy(out.m_point.data(), &pk, sizeof pk);
  return out;
}

bool ParsedPubKey::Verify(const Hash256& msg, const Signature& sig) const {
  secp256k1_xonly_pubkey pk;
  std::memcpy(&pk, m_point.data(), sizeof pk);
  return secp256k1_schnorrsig_verify(secp256k1_context_static, sig.bytes.data(), msg.bytes.data(), msg.bytes.size(),
                                     &pk) == 1;
}

bool Verify(const XOnlyPubKey& key, ByteSpan msg, const Signature& sig) {
  secp256k1_xonly_pubkey pk;
  if (secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, key.bytes.data()) != 1) return false;
  return secp256k1_schnorrsig_verify(secp256k1_context_static, sig.bytes.data(), msg.data(), msg.size(),
                                     &pk) == 1;
}

}  // namespace wattline::crypto
