#include "infra/store_schema.h"

#include <cstring>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
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
    case Family::kSegments:
      return "segments";
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

bool ParseTimelineKey(std::string_view key, std::string_view* customer_id,
                      int64_t* offset) {
  if (key.empty()) return false;
  const size_t id_size = static_cast<uint8_t>(key[0]);
  if (key.size() != 1 + id_size + 8) return false;
  *customer_id = key.substr(1, id_size);
  *offset = static_cast<int64_t>(DecodeFixed64BE(key.data() + 1 + id_size));
  return true;
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

std::string StandingPrefix() { return "s"; }

std::string StandingKey(std::string_view customer_id) {
  std::string key = StandingPrefix();
  key.append(customer_id);
  return key;
}

std::string SegmentOrderPrefix(SegmentOrder order) {
  std::string key = "o";
  key.push_back(static_cast<char>(order));
  return key;
}

std::string SegmentOrderKey(SegmentOrder order, uint64_t sort_key,
                            std::string_view customer_id) {
  std::string key = SegmentOrderPrefix(order);
  PutFixed64BE(&key, ~sort_key);
  key.append(customer_id);
  return key;
}

std::string SegmentCounterPrefix(uint8_t dimension) {
  std::string key = "c";
  key.push_back(static_cast<char>(dimension));
  return key;
}

std::string SegmentCounterKey(uint8_t dimension, std::string_view value) {
  std::string key = SegmentCounterPrefix(dimension);
  key.append(value);
  return key;
}

std::string TransitionCounterPrefix(int32_t month) {
  std::string key = "t";
  PutFixed32BE(&key, static_cast<uint32_t>(month));
  return key;
}

std::string TransitionCounterKey(int32_t month, uint8_t from, uint8_t to) {
  std::string key = TransitionCounterPrefix(month);
  key.push_back(static_cast<char>(from));
  key.push_back(static_cast<char>(to));
  return key;
}

std::string SatisfactionCounterPrefix(int32_t month) {
  std::string key = "m";
  PutFixed32BE(&key, static_cast<uint32_t>(month));
  return key;
}

std::string SatisfactionCounterKey(int32_t month, SatisfactionSplit split,
                                   std::string_view value) {
  std::string key = SatisfactionCounterPrefix(month);
  key.push_back(static_cast<char>(split));
  key.append(value);
  return key;
}

int32_t MonthOf(int64_t time_us) {
  const absl::CivilMonth month =
      absl::ToCivilMonth(absl::FromUnixMicros(time_us), absl::UTCTimeZone());
  return static_cast<int32_t>(month.year() * 12 + month.month() - 1);
}

uint64_t SortableInt(int64_t v) { return static_cast<uint64_t>(v) ^ kSignBit; }

uint64_t SortableDouble(double v) {
  uint64_t bits;
  static_assert(sizeof(bits) == sizeof(v));
  std::memcpy(&bits, &v, sizeof(bits));
  // Negative numbers: invert all bits; positive: set the sign bit.
  return (bits & kSignBit) != 0 ? ~bits : bits | kSignBit;
}

std::string EncodeCounters(const std::vector<int64_t>& values) {
  std::string out;
  out.reserve(values.size() * 8);
  for (int64_t v : values) {
    auto u = static_cast<uint64_t>(v);
    for (int i = 0; i < 8; ++i) {
      out.push_back(static_cast<char>(u & 0xff));
      u >>= 8;
    }
  }
  return out;
}

std::vector<int64_t> DecodeCounters(std::string_view bytes) {
  std::vector<int64_t> values(bytes.size() / 8);
  for (size_t i = 0; i < values.size(); ++i) {
    uint64_t u = 0;
    for (int b = 7; b >= 0; --b) {
      u = (u << 8) | static_cast<uint8_t>(bytes[i * 8 + b]);
    }
    values[i] = static_cast<int64_t>(u);
  }
  return values;
}

}  // namespace kehu::infra::schema
