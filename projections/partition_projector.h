// PartitionProjector: folds the records of one log partition into the
// projection store, one batch at a time.
//
// Operation: for each record of a batch it decodes the event and judges it
// (record_admission.h: dead-letters it when it does not parse or breaks a
// rule, counts and skips a payload this version does not know), skips an
// event whose event_id was already folded for the customer, and folds the
// rest into the customer's state held in a write-back cache. Commit() then
// writes, in ONE WriteBatch, the changed customer rows and their index rows
// (customer_rows.h), their segment-index rows (segment_index.h), timeline
// and dedup rows, dead letters, and the partition's progress (next offset
// and counters). A crash therefore loses either a whole batch or nothing,
// and the next start continues from the stored next offset.
//
// Concurrency: one thread per instance. Instances of different partitions
// share the store and write disjoint customers (a customer lives in one
// partition).
//
// Limitations: dedup is per customer: an event re-sent with the same
// event_id but another customer_id is a different event.
#ifndef KEHU_PROJECTIONS_PARTITION_PROJECTOR_H_
#define KEHU_PROJECTIONS_PARTITION_PROJECTOR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "kehu/store/v1/store.pb.h"
#include "projections/customer_rows.h"
#include "projections/segment_index.h"
#include "rocksdb/write_batch.h"

namespace kehu::projections {

class PartitionProjector {
 public:
  // Customers kept in the write-back cache between batches.
  static constexpr size_t kDefaultCacheCustomers = 50000;

  // Loads the partition's progress from `store` (not owned, must outlive
  // the projector). With `partition_count` > 0, a record whose key murmur2
  // assigns to another partition is dead-lettered: a client that did not
  // partition like Kafka's Java client would otherwise split a customer
  // over two partitions, whose folds run in no defined order.
  static absl::StatusOr<std::unique_ptr<PartitionProjector>> Create(
      infra::ProjectionStore* store, int32_t partition,
      size_t cache_customers = kDefaultCacheCustomers,
      int32_t partition_count = 0);

  PartitionProjector(const PartitionProjector&) = delete;
  PartitionProjector& operator=(const PartitionProjector&) = delete;

  // Folds `records` and commits them.
  // REQUIRES: records are of this partition, consecutive, and the first
  // one's offset is next_offset().
  absl::Status Process(const std::vector<infra::LogRecord>& records);

  int32_t partition() const { return partition_; }
  // The offset of the next record to fold.
  int64_t next_offset() const { return progress_.next_offset(); }
  const store::v1::PartitionProgress& progress() const { return progress_; }

 private:
  struct CachedCustomer {
    store::v1::CustomerState state;
    // Index values as last committed; nullopt before the first commit of
    // this customer.
    std::optional<IndexedValues> indexed;
    bool dirty = false;
  };

  PartitionProjector(infra::ProjectionStore* store, int32_t partition,
                     size_t cache_customers, int32_t partition_count);

  // Decodes, validates, deduplicates and folds one record, adding its rows
  // to `batch`.
  absl::Status Apply(const infra::LogRecord& record,
                     rocksdb::WriteBatch* batch);
  absl::StatusOr<bool> AlreadyFolded(const std::string& dedup_key);
  absl::StatusOr<CachedCustomer*> Load(const std::string& customer_id);
  // Writes `batch` with the rows of the dirty customers, their
  // segment-index rows and the progress.
  absl::Status Commit(rocksdb::WriteBatch* batch);

  infra::ProjectionStore* const store_;
  const int32_t partition_;
  const size_t cache_customers_;
  const int32_t partition_count_;  // 0: keys are not checked
  const SegmentIndex segments_;
  store::v1::PartitionProgress progress_;
  absl::flat_hash_map<std::string, CachedCustomer> cache_;
  // Dedup keys written by the batch in progress (not yet readable from the
  // store).
  absl::flat_hash_set<std::string> batch_dedup_;
};

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_PARTITION_PROJECTOR_H_
