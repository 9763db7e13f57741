#include "infra/murmur2.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace kehu::infra {
namespace {

struct HashVector {
  std::string key;
  int32_t hash;  // As the Java client's Utils.murmur2() returns it.
};

// Apache Kafka, clients/src/test/java/org/apache/kafka/common/utils/
// UtilsTest.java, testMurmur2(). Together they cover every tail length
// (0 to 3 bytes after the last full word).
TEST(Murmur2Test, MatchesTheJavaClientOnKafkasOwnVectors) {
  const HashVector kafka_vectors[] = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const HashVector& v : kafka_vectors) {
    EXPECT_EQ(Murmur2(v.key), v.hash) << "key \"" << v.key << "\"";
  }
}

// librdkafka, src/rdmurmur2.c, unittest_murmur2(): Java results as int32
// bit patterns, including the empty key.
TEST(Murmur2Test, MatchesLibrdkafkasVectors) {
  const HashVector librdkafka_vectors[] = {
      {"kafka", static_cast<int32_t>(0xd067cf64u)},
      {"giberish123456789", static_cast<int32_t>(0x8f552b0cu)},
      {"1234", static_cast<int32_t>(0x9fc97b14u)},
      {"234", static_cast<int32_t>(0xe7c009cau)},
      {"34", static_cast<int32_t>(0x873930dau)},
      {"4", static_cast<int32_t>(0x5a4b5ca1u)},
      {"PreAmbleWillBeRemoved,ThePrePartThatIs",
       static_cast<int32_t>(0x78424f1cu)},
      {"reAmbleWillBeRemoved,ThePrePartThatIs",
       static_cast<int32_t>(0x4a62b377u)},
      {"eAmbleWillBeRemoved,ThePrePartThatIs",
       static_cast<int32_t>(0xe0e4e09eu)},
      {"AmbleWillBeRemoved,ThePrePartThatIs",
       static_cast<int32_t>(0x62b8b43fu)},
      {"", static_cast<int32_t>(0x106e08d9u)},
  };
  for (const HashVector& v : librdkafka_vectors) {
    EXPECT_EQ(Murmur2(v.key), v.hash) << "key \"" << v.key << "\"";
  }
}

// Java reads each byte as `data[i] & 0xff`; a signed-char port would get
// these wrong. Vectors: Apache Commons Codec MurmurHash2Test, whose
// hash32(byte[], int) is the same function with the same default seed
// (0x9747b28c) and agrees with Kafka on the empty key above.
TEST(Murmur2Test, HashesBytesAbove0x7FAsUnsigned) {
  const HashVector commons_codec_vectors[] = {
      {std::string("\x21\x65\x59\x4e\xd8\x12\xf9\x05\x80\xe9\x1e\xed\xe4\x56"
                   "\xbb",
                   15),
       static_cast<int32_t>(0x485dcabau)},
      {std::string("\xe8\x76\xa8\x90\x76", 5),
       static_cast<int32_t>(0x366c98f3u)},
      {std::string("\xeb\x25\x3f\x87", 4), static_cast<int32_t>(0x9c48ee29u)},
      {std::string("\x37\xa0\xa9", 3), static_cast<int32_t>(0x0b615790u)},
      {std::string("\x7e", 1), static_cast<int32_t>(0xec98125au)},
  };
  for (const HashVector& v : commons_codec_vectors) {
    EXPECT_EQ(Murmur2(v.key), v.hash) << "key of " << v.key.size() << " bytes";
  }
}

TEST(Murmur2Test, HashesEmbeddedNulBytes) {
  // A string_view with a NUL inside must hash all of its bytes.
  const std::string with_nul("ab\0cd", 5);
  EXPECT_NE(Murmur2(with_nul), Murmur2("ab"));
  EXPECT_EQ(Murmur2(with_nul), Murmur2(std::string_view(with_nul)));
}

// librdkafka, tests/0048-partitioner.c: the partition its `murmur2` and
// `murmur2_random` partitioners pick for keyed messages, computed there with
// the Java client (tests/java/Murmur2Cli), for 7 and 17 partitions.
TEST(PartitionForKeyTest, PicksThePartitionTheJavaClientPicks) {
  struct PartitionVector {
    std::string key;
    uint32_t positive_hash;  // toPositive(murmur2(key)).
  };
  const PartitionVector vectors[] = {
      {"", 0x106e08d9u},
      {"23456", 0x058d780fu},
      {"this is another string with more length to it perhaps", 0x4f7703dau},
      {"hejsan", 0x5ec19395u},
  };
  for (int32_t partitions : {7, 17}) {
    for (const PartitionVector& v : vectors) {
      EXPECT_EQ(PartitionForKey(v.key, partitions),
                static_cast<int32_t>(v.positive_hash % partitions))
          << "key \"" << v.key << "\", " << partitions << " partitions";
    }
  }
}

TEST(PartitionForKeyTest, ClearsTheSignBitInsteadOfNegating) {
  // "21" hashes to -973932308 = 0xc5f2f8ec. toPositive() gives 0x45f2f8ec =
  // 1173551340; abs() would give 973932308, another partition for most
  // counts (e.g. 1173551340 % 1000 = 340, 973932308 % 1000 = 308).
  EXPECT_EQ(PartitionForKey("21", 1000), 340);
  EXPECT_EQ(PartitionForKey("21", 2147483647), 1173551340);
  EXPECT_EQ(PartitionForKey("foobar", 1), 0);
}

}  // namespace
}  // namespace kehu::infra
