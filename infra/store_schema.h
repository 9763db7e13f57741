// The layout of the projection store: its column families and how each
// key is encoded. The projector writes through it and the query service
// reads through it; neither knows the other's internals.
//
//   customers   customer_id                       -> store.v1.CustomerState
//   timeline    len(id) id offset(8 BE)           -> the event's bytes
//   indexes     metric(1) ~value(8 BE) id         -> "" (descending by value)
//   offsets     partition(4 BE)                   -> store.v1.PartitionProgress
//   dedup       len(id) id event_id               -> offset(8 BE)
//   deadletter  partition(4 BE) offset(8 BE)      -> store.v1.DeadLetter
//   meta        name                              -> value
//
// len(id) is one byte: ids are at most 128 bytes (event_validation.h).
#ifndef KEHU_INFRA_STORE_SCHEMA_H_
#define KEHU_INFRA_STORE_SCHEMA_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kehu::infra::schema {

enum class Family : int {
  kCustomers = 0,
  kTimeline,
  kIndexes,
  kOffsets,
  kDedup,
  kDeadLetter,
  kMeta,
};
inline constexpr int kFamilyCount = 7;

// The RocksDB column family name of `f`.
const char* FamilyName(Family f);

// Ordered indexes of customers by a metric, highest first.
enum class IndexMetric : uint8_t {
  kRevenue = 1,        // net revenue in the reporting currency
  kMargin = 2,         // realised margin in the reporting currency
  kPurchaseCount = 3,  // orders placed and not cancelled
};

// Names of rows in the `meta` family.
inline constexpr char kMetaSchemaVersion[] = "schema_version";
inline constexpr char kMetaReportingCurrency[] = "reporting_currency";
// store.v1.PopulationModel of the last `kehu fit`.
inline constexpr char kMetaPopulation[] = "population";
inline constexpr char kSchemaVersion[] = "1";

std::string CustomerKey(std::string_view customer_id);
std::string TimelineKey(std::string_view customer_id, int64_t offset);
// Every timeline key of the customer starts with this.
std::string TimelinePrefix(std::string_view customer_id);
std::string DedupKey(std::string_view customer_id, std::string_view event_id);
std::string PartitionKey(int32_t partition);
std::string DeadLetterKey(int32_t partition, int64_t offset);

std::string IndexKey(IndexMetric metric, int64_t value,
                     std::string_view customer_id);
// Every key of the metric's index starts with this.
std::string IndexPrefix(IndexMetric metric);
// Splits an index key; false when `key` is not one.
bool DecodeIndexKey(std::string_view key, IndexMetric* metric, int64_t* value,
                    std::string* customer_id);

// Fixed-width big-endian integers, so that byte order is numeric order.
void PutFixed32BE(std::string* dst, uint32_t v);
void PutFixed64BE(std::string* dst, uint64_t v);
uint32_t DecodeFixed32BE(const char* p);
uint64_t DecodeFixed64BE(const char* p);

}  // namespace kehu::infra::schema

#endif  // KEHU_INFRA_STORE_SCHEMA_H_
