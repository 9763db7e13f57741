// PartitionProjector: folds the records of one log partition into the
// projection store, one batch at a time.
//
// Operation: for each record of a batch it decodes the event, dead-letters
// it when it does not parse or breaks a rule (with the raw bytes, position
// and reason), counts and skips a payload this version does not know, skips
// an event whose event_id was already folded for the customer, and folds
// the rest into the customer's state held in a write-back cache. Commit()
// then writes, in ONE WriteBatch, the changed customer rows, their index
// rows and segment-index rows (segment_index.h), timeline and dedup rows, dead letters, and the partition's progress
// (next offset and counters). A crash therefore loses either a whole batch
// or nothing, and the next start continues from the stored next offset.
//
// Bulk load (set_bulk_load(): a replay into a fresh store, replay.h):
// customer and index rows are written when the customer leaves the
// write-back cache, and by Finish(), instead of with every batch that
// folded them; segment-index rows are not written at all (the replay
// builds them once at the end, SegmentIndex::BuildAll). Each WriteBatch
// still holds the batch's timeline, dedup and dead-letter rows and the
// partition's progress, but until Finish() the progress runs ahead of the
// customer rows: the store is complete only after Finish() and the index
// build, and a failed Process() or Finish() cannot be retried.
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
#include "absl/time/time.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "kehu/store/v1/store.pb.h"
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

  // Leaves out every event that occurred after `until` (the cut of `kehu
  // replay --until`, replay.h): a record whose event parses and whose
  // occurred_at is later is counted in progress().after_cut and otherwise
  // passed over, as if it were not in the log. A record that does not
  // parse has no business time and is dead-lettered as always.
  // REQUIRES: called before the first Process().
  void set_cut(absl::Time until) { cut_ = until; }

  // Bulk load mode, described above.
  // REQUIRES: called before the first Process().
  void set_bulk_load() { bulk_load_ = true; }

  // Folds `records` and commits them.
  // REQUIRES: records are of this partition, consecutive, and the first
  // one's offset is next_offset().
  absl::Status Process(const std::vector<infra::LogRecord>& records);

  // Writes the customer and index rows of every customer whose state has
  // changed since it was last written (in bulk load mode, those folded
  // since they last left the cache; otherwise none).
  absl::Status Finish();

  int32_t partition() const { return partition_; }
  // The offset of the next record to fold.
  int64_t next_offset() const { return progress_.next_offset(); }
  const store::v1::PartitionProgress& progress() const { return progress_; }

 private:
  struct CachedCustomer {
    store::v1::CustomerState state;
    // Index values as last committed; `indexed` is false before the first
    // commit of this customer.
    bool indexed = false;
    int64_t revenue = 0;
    int64_t margin = 0;
    int64_t purchases = 0;
    bool dirty = false;
  };

  PartitionProjector(infra::ProjectionStore* store, int32_t partition,
                     size_t cache_customers, int32_t partition_count);

  // Decodes, validates, deduplicates and folds one record, adding its rows
  // to `batch`.
  absl::Status Apply(const infra::LogRecord& record,
                     rocksdb::WriteBatch* batch);
  void DeadLetter(const infra::LogRecord& record, const std::string& field,
                  const std::string& reason, rocksdb::WriteBatch* batch);
  absl::StatusOr<bool> AlreadyFolded(const std::string& dedup_key);
  absl::StatusOr<CachedCustomer*> Load(const std::string& customer_id);
  void PutCustomer(CachedCustomer* customer, rocksdb::WriteBatch* batch);
  // Writes `batch` with the rows of the dirty customers (all of them when
  // `write_customers`) and the progress, updating their segment-index rows
  // unless in bulk load mode.
  absl::Status Commit(rocksdb::WriteBatch* batch, bool write_customers);

  infra::ProjectionStore* const store_;
  const int32_t partition_;
  const size_t cache_customers_;
  const int32_t partition_count_;  // 0: keys are not checked
  std::optional<absl::Time> cut_;  // set_cut(); nullopt: no cut
  bool bulk_load_ = false;         // set_bulk_load()
  // Set by a failed commit in bulk load mode: the cache held rows that are
  // lost, so the projector cannot go on.
  bool broken_ = false;
  const SegmentIndex segments_;
  store::v1::PartitionProgress progress_;
  absl::flat_hash_map<std::string, CachedCustomer> cache_;
  // Dedup keys written by the batch in progress (not yet readable from the
  // store).
  absl::flat_hash_set<std::string> batch_dedup_;
};

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_PARTITION_PROJECTOR_H_
