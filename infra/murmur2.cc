#include "infra/murmur2.h"

#include <cstddef>
#include <cstdint>

#include "infra/check.h"

namespace kehu::infra {

// A port of org.apache.kafka.common.utils.Utils.murmur2(byte[]). Java's int
// arithmetic wraps, C++'s signed arithmetic must not overflow, so every step
// is done in uint32_t (same bits, defined behaviour) and only the result is
// reinterpreted as int32_t. Java's `>>>` is a logical shift, which is what
// `>>` does on an unsigned value. Bytes are read as unsigned, like Java's
// `data[i] & 0xff`.
int32_t Murmur2(std::string_view key) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;

  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t length = key.size();
  // Java hashes an int length; keys longer than 2 GiB do not exist there.
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);

  const size_t length4 = length / 4;
  for (size_t i = 0; i < length4; ++i) {
    const size_t i4 = i * 4;
    // Little-endian, whatever the host's byte order.
    uint32_t k = static_cast<uint32_t>(data[i4 + 0]) |
                 static_cast<uint32_t>(data[i4 + 1]) << 8 |
                 static_cast<uint32_t>(data[i4 + 2]) << 16 |
                 static_cast<uint32_t>(data[i4 + 3]) << 24;
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }

  // The last 1-3 bytes; the cases fall through on purpose, as in Java.
  const size_t tail = length & ~static_cast<size_t>(3);
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(data[tail]);
      h *= kM;
  }

  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);  // Two's complement: Java's int bits.
}

int32_t PartitionForKey(std::string_view key, int32_t partition_count) {
  KEHU_CHECK(partition_count > 0);
  // Utils.toPositive(): clear the sign bit (not abs(), which would map
  // INT32_MIN to itself).
  const uint32_t positive = static_cast<uint32_t>(Murmur2(key)) & 0x7fffffffu;
  return static_cast<int32_t>(positive %
                              static_cast<uint32_t>(partition_count));
}

}  // namespace kehu::infra
