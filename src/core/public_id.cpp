#include "core/public_id.hpp"

#include <sodium.h>

#include <cstdlib>

namespace gc {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// libsodium's own setup (idempotent and thread-safe); it fails only when the
// system has no random source, and then nothing here could be trusted.
void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) std::abort();
}

void append_hex(std::string& out, const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
}

}  // namespace

static_assert(kGroupSecretBytes >= crypto_generichash_KEYBYTES_MIN &&
              kGroupSecretBytes <= crypto_generichash_KEYBYTES_MAX);
static_assert(kPublicIdChars / 2 >= crypto_generichash_BYTES_MIN);

GroupSecret new_group_secret() {
  ensure_sodium();
  GroupSecret secret{};
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

void public_id_into(std::string& out, const GroupSecret& secret, std::string_view identity) {
  ensure_sodium();
  std::array<uint8_t, kPublicIdChars / 2> digest{};
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(identity.data()), identity.size(),
                     secret.data(), secret.size());
  out.clear();
  append_hex(out, digest.data(), digest.size());
}

std::string public_id(const GroupSecret& secret, std::string_view identity) {
  std::string out;
  out.reserve(kPublicIdChars);
  public_id_into(out, secret, identity);
  return out;
}

}  // namespace gc
