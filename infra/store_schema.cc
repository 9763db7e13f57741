#include "infra/store_schema.h"

#include "infra/check.h"

namespace kehu::infra::schema {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

void PutIdPrefix(std::string* dst, std::string_view id) {
  KEHU_CHECK(id.size() <= 255);
  dst->push_back(static_cast<char>(id.size()));
  dst->append(id);
}

}  // namespace

const char* FamilyName(Family f) {
  switch (f) {
    case Family::kCustomers:
      return "customers";
    case Family::kTimeline:
      return "timeline";
    case Family::kIndexes:
      return "indexes";
    case Family::kOffsets:
      return "offsets";
    case Family::kDedup:
      return "dedup";
    case Family::kDeadLetter:
      return "deadletter";
    case Family::kMeta:
      return "meta";
  }
  KEHU_CHECK(false);
  return "";
}

void PutFixed32BE(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 4);
}

void PutFixed64BE(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

uint32_t DecodeFixed32BE(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string CustomerKey(std::string_view customer_id) {
  return std::string(customer_id);
}

std::string TimelinePrefix(std::string_view customer_id) {
  std::string key;
  PutIdPrefix(&key, customer_id);
  return key;
}

std::string TimelineKey(std::string_view customer_id, int64_t offset) {
  std::string key = TimelinePrefix(customer_id);
  PutFixed64BE(&key, static_cast<uint64_t>(offset));
  return key;
}

std::string DedupKey(std::string_view customer_id, std::string_view event_id) {
  std::string key;
  PutIdPrefix(&key, customer_id);
  key.append(event_id);
  return key;
}

std::string PartitionKey(int32_t partition) {
  std::string key;
  PutFixed32BE(&key, static_cast<uint32_t>(partition));
  return key;
}

std::string DeadLetterKey(int32_t partition, int64_t offset) {
  std::string key = PartitionKey(partition);
  PutFixed64BE(&key, static_cast<uint64_t>(offset));
  return key;
}

std::string IndexPrefix(IndexMetric metric) {
  return std::string(1, static_cast<char>(metric));
}

std::string IndexKey(IndexMetric metric, int64_t value,
                     std::string_view customer_id) {
  std::string key = IndexPrefix(metric);
  // Flipping the sign bit makes signed order unsigned order; inverting the
  // result makes the highest value sort first.
  PutFixed64BE(&key, ~(static_cast<uint64_t>(value) ^ kSignBit));
  key.append(customer_id);
  return key;
}

bool DecodeIndexKey(std::string_view key, IndexMetric* metric, int64_t* value,
                    std::string* customer_id) {
  if (key.size() < 9) return false;
  *metric = static_cast<IndexMetric>(static_cast<uint8_t>(key[0]));
  *value = static_cast<int64_t>(~DecodeFixed64BE(key.data() + 1) ^ kSignBit);
  customer_id->assign(key.substr(9));
  return true;
}

}  // namespace kehu::infra::schema
