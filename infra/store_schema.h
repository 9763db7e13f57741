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
//   segments    's' id                            -> store.v1.Standing
//               'o' order(1) ~key(8 BE) id        -> store.v1.Standing, less
//                                                    its months and transitions
//                                                    (descending by key)
//               'c' dimension(1) value            -> counters (see below)
//               't' month(4 BE) from(1) to(1)     -> counters
//               'm' month(4 BE) split(1) value    -> counters
//
// Counters are little-endian int64s, updated with RocksDB merges that add
// them element by element (ProjectionStore registers the operator), so
// that concurrent partitions can add to the same segment: 'c' rows hold
// customers, window revenue and window margin of one segment; 't' rows the
// number of lifecycle transitions from -> to in a month; 'm' rows the
// fields of store.v1.SatisfactionFigures after `month`, in field order.
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
  kSegments,
};
inline constexpr int kFamilyCount = 8;

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
// Present while a replay builds the store (projections/replay.h): written
// first, deleted last, so a store whose replay crashed or was stopped is
// never taken for a complete one. A complete store has no such row.
inline constexpr char kMetaReplayInProgress[] = "replay_in_progress";
// The layout above; a store of another version is refused, to be rebuilt
// from the log. 2: segment order keys complemented (descending).
inline constexpr char kSchemaVersion[] = "2";

std::string CustomerKey(std::string_view customer_id);
std::string TimelineKey(std::string_view customer_id, int64_t offset);
// Every timeline key of the customer starts with this.
std::string TimelinePrefix(std::string_view customer_id);
// The customer id and log offset of a timeline key (pointing into `key`);
// false when `key` is not one.
bool ParseTimelineKey(std::string_view key, std::string_view* customer_id,
                      int64_t* offset);
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

// The segment index (projections/segment_index.h).
// Orders of customer listings; the key sorts ascending.
enum class SegmentOrder : uint8_t {
  kCurrentValue = 1,
  kHistoricalValue = 2,
  kRecency = 3,
  kSatisfaction = 4,
  kChurnRisk = 5,
};
// Dimensions of the 'c' counters: the number of the kehu.query.v1.Dimension.
// Splits of the 'm' counters.
enum class SatisfactionSplit : uint8_t { kAll = 0, kTier = 1, kRelationship = 2 };

std::string StandingKey(std::string_view customer_id);
// Every standing key starts with this.
std::string StandingPrefix();
// `sort_key` is an order-preserving encoding (SortableDouble, SortableInt);
// it is stored complemented, so that the keys ascend from the highest
// sort key down and a listing's usual order, highest first, reads forwards
// (RocksDB steps backwards far more slowly, in a memtable above all).
std::string SegmentOrderKey(SegmentOrder order, uint64_t sort_key,
                            std::string_view customer_id);
std::string SegmentOrderPrefix(SegmentOrder order);
std::string SegmentCounterKey(uint8_t dimension, std::string_view value);
std::string SegmentCounterPrefix(uint8_t dimension);
std::string TransitionCounterKey(int32_t month, uint8_t from, uint8_t to);
// Month keys are ordered by month; a range scan covers a period.
std::string TransitionCounterPrefix(int32_t month);
std::string SatisfactionCounterKey(int32_t month, SatisfactionSplit split,
                                   std::string_view value);
std::string SatisfactionCounterPrefix(int32_t month);
// Months as the counters count them: year * 12 + month - 1, UTC.
int32_t MonthOf(int64_t time_us);
// Unsigned keys that sort as the numbers do.
uint64_t SortableInt(int64_t v);
uint64_t SortableDouble(double v);

// Counter values: int64s, little-endian.
std::string EncodeCounters(const std::vector<int64_t>& values);
std::vector<int64_t> DecodeCounters(std::string_view bytes);

// Fixed-width big-endian integers, so that byte order is numeric order.
void PutFixed32BE(std::string* dst, uint32_t v);
void PutFixed64BE(std::string* dst, uint64_t v);
uint32_t DecodeFixed32BE(const char* p);
uint64_t DecodeFixed64BE(const char* p);

}  // namespace kehu::infra::schema

#endif  // KEHU_INFRA_STORE_SCHEMA_H_
