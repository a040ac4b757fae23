#pragma once
// A member's public id: what the other members of a group see in place of the
// identity a request acts as (docs/PROTOCOL.md, "Public ids"). The identity is
// a credential (whoever sends it acts as that member); the public id is a
// keyed one-way hash of it, so seeing it lets no one act as its member, and a
// guessable identity (the reference's uuids are time-based) cannot be found
// from it by trying candidates without the group's secret.
//
//   public id = lower-case hex of BLAKE2b-128 (libsodium crypto_generichash,
//               16-byte output) keyed with the group's secret, over the
//               identity's bytes
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gc {

// A group's secret: 32 random bytes, made once with its history and kept with it.
inline constexpr size_t kGroupSecretBytes = 32;
using GroupSecret = std::array<uint8_t, kGroupSecretBytes>;

// 32 lower-case hex characters.
inline constexpr size_t kPublicIdChars = 32;

// A new secret from libsodium's randombytes_buf.
GroupSecret new_group_secret();

// The public id of `identity` in the group whose secret is `secret`.
std::string public_id(const GroupSecret& secret, std::string_view identity);
// The same, written into out (cleared first).
void public_id_into(std::string& out, const GroupSecret& secret, std::string_view identity);

}  // namespace gc
