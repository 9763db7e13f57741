// Kafka's default partitioner, bit for bit: the Java client's
// Utils.murmur2() and Utils.toPositive(), as librdkafka's `murmur2_random`
// partitioner also computes it for keyed messages.
#ifndef KEHU_INFRA_MURMUR2_H_
#define KEHU_INFRA_MURMUR2_H_

#include <cstdint>
#include <string_view>

namespace kehu::infra {

// Kafka's murmur2 hash of the bytes of `key` (seed 0x9747b28c), as the
// signed 32-bit int Java returns. A string key must be passed as the bytes
// the producer's serializer sends (UTF-8 for Kafka's StringSerializer).
// Thread-safe; defined for every input, including empty and binary keys.
int32_t Murmur2(std::string_view key);

// The partition Kafka's Java producer picks for `key`:
// toPositive(murmur2(key)) % partition_count.
// REQUIRES: partition_count > 0.
int32_t PartitionForKey(std::string_view key, int32_t partition_count);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_MURMUR2_H_
