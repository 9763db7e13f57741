// GroupProjector: the projector of a Kafka deployment — a member of a
// Kafka consumer group that folds the partitions the group assigns it into
// this process's projection store.
//
// Operation
//   Start() reads the topic's partition count and subscribes to the topic
//   in `group`: cooperative-sticky assignment, manual offsets
//   (enable.auto.commit=false), read_committed, auto.offset.reset=earliest
//   (infra/kafka_config.h). One thread polls the consumer; librdkafka runs
//   the rebalance callback on that thread, between polls.
//   - Assigned partitions: each gets a PartitionProjector, which loads the
//     partition's progress from the store's `offsets` family, and is
//     assigned at that progress's next offset. The offsets that count are
//     the ones stored in RocksDB in the same WriteBatch as the state they
//     produced; Kafka's committed offsets are never read. A partition this
//     store never held therefore starts at offset 0 — the instance rebuilds
//     it from the beginning of the topic, which keeps everything — and one
//     it held before continues where its last store commit ended.
//   - Polled records are grouped by partition, up to max_batch_events per
//     round; each partition's batch is folded and committed by its
//     PartitionProjector in ONE WriteBatch (state, indexes, timeline,
//     dedup, dead letters, next offset). Then the next offsets are committed
//     to Kafka, asynchronously, only so that lag tools see progress.
//   - Revoked partitions: the records already polled for them are folded
//     and committed to the store first, then their offsets are committed to
//     Kafka synchronously, then they are given up (incremental unassign).
//     A partition whose assignment was lost (this member timed out) is
//     given up the same way, without the Kafka commit.
//   - A record below the partition's next offset (fetched before a seek)
//     is skipped. One above it means the topic no longer holds the records
//     in between (retention, compaction, a transaction marker, a recreated
//     topic): the store cannot be brought up to date from this topic, and
//     the projector stops with DATA_LOSS.
//   Stop() finishes the round in flight, leaves the group (which revokes
//   every partition, as above) and joins the thread. Kill() stops the way
//   a crash would, for tests: records polled but not yet folded are
//   dropped, nothing more is committed anywhere, and the group is not told
//   (it notices when the member's session times out).
//
// Concurrency
//   Start(), Stop() and Kill() from one controlling thread; the Wait*
//   methods and accessors from any thread. All folding happens on the one
//   polling thread, so each partition is folded by one PartitionProjector
//   at a time, and partitions write disjoint customers.
//
// Limitations
//   - One fold thread per instance, not one per partition: scale out by
//     running more instances in the group.
//   - Each instance folds into its own store the partitions it holds: a
//     customer's view is current only on the instance that holds the
//     customer's partition (PartitionForKey(customer_id)). Rows of a
//     partition that moved away stay as they were when it left, and
//     continue from there if it comes back.
//   - A failed store write, a fatal consumer error or an offset gap stops
//     folding; status() reports it (`kehu serve` then shuts down).
//   - The topic needs consecutive offsets: no compaction, no transactional
//     producers.
//   - Start() may be called once per instance.
#ifndef KEHU_PROJECTIONS_GROUP_PROJECTOR_H_
#define KEHU_PROJECTIONS_GROUP_PROJECTOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infra/kafka_config.h"
#include "infra/kafka_handles.h"
#include "infra/projection_store.h"
#include "kehu/store/v1/store.pb.h"
#include "projections/partition_projector.h"

namespace kehu::projections {

struct GroupProjectorOptions {
  // bootstrap.servers, e.g. "kafka1:9092,kafka2:9092".
  std::string brokers;
  std::string topic = "kehu.events";
  // The consumer group; every instance of one deployment uses the same.
  std::string group = "kehu-projector";
  // librdkafka properties from the config file, passed through.
  infra::KafkaProperties properties;
  // Records polled and folded per round (over all assigned partitions).
  size_t max_batch_events = 2000;
  // Customers each partition keeps in its write-back cache.
  size_t cache_customers = PartitionProjector::kDefaultCacheCustomers;
  // How long an idle poll waits for records before checking for Stop().
  absl::Duration poll_timeout = absl::Milliseconds(100);
  // How long Start() waits for the topic's metadata.
  absl::Duration metadata_timeout = absl::Seconds(10);
  // Testing seam, empty in production: called on the fold thread before
  // each partition's batch is folded, with the partition and the batch's
  // size. Returning true makes the projector stop right there as Kill()
  // does: this batch and the rest of the round are dropped, unfolded.
  std::function<bool(int32_t partition, size_t records)> crash_before_fold;
};

// Counters since Start(), for metrics and tests.
struct GroupProjectorStats {
  // Partitions the group assigned to, revoked from, and lost by this
  // member (a lost partition is counted as revoked too).
  uint64_t partitions_assigned = 0;
  uint64_t partitions_revoked = 0;
  uint64_t partitions_lost = 0;
  // Store commits (one per partition per round with records).
  uint64_t batches = 0;
  // Records folded (including dead-lettered and duplicate ones).
  uint64_t records = 0;
  // Records skipped because they were already folded or belong to a
  // partition this member no longer holds.
  uint64_t stale_records = 0;
  // Offset commits to Kafka that succeeded, and that failed (harmless:
  // Kafka's offsets only inform lag tools).
  uint64_t kafka_commits = 0;
  uint64_t kafka_commit_failures = 0;
  // Errors librdkafka reported and recovers from (broker down, ...).
  uint64_t consumer_errors = 0;
  // Records polled but not folded when Kill() struck.
  uint64_t dropped_on_kill = 0;
};

class GroupProjector {
 public:
  // `store` is not owned and must outlive the projector.
  GroupProjector(infra::ProjectionStore* store, GroupProjectorOptions options);
  // Stop()s unless stopped or killed.
  ~GroupProjector();
  GroupProjector(const GroupProjector&) = delete;
  GroupProjector& operator=(const GroupProjector&) = delete;

  // Creates the consumer, reads the partition count, loads each
  // partition's progress, joins the group and starts folding. Fails with
  // INVALID_ARGUMENT for a bad property, NOT_FOUND when the topic does not
  // exist, UNAVAILABLE when no broker answers, or the store's error.
  absl::Status Start();
  // Finishes the round in flight, leaves the group cleanly (folding and
  // committing what the revocation gives up) and joins the thread.
  void Stop();
  // Stops like a crash (see the class comment). For tests.
  void Kill();

  // Blocks until every partition p has folded all records below
  // end_offsets[p] into this store, folding failed, or `deadline` passed.
  // Returns true when folded.
  bool WaitUntilFolded(const std::vector<int64_t>& end_offsets,
                       absl::Time deadline);
  // Blocks until `done(progress())` holds, folding failed, or `deadline`
  // passed. Returns whether `done` holds.
  bool WaitForProgress(
      const std::function<
          bool(const std::vector<store::v1::PartitionProgress>&)>& done,
      absl::Time deadline);
  // Blocks until `done(assignment())` holds, folding failed, or `deadline`
  // passed. Returns whether `done` holds.
  bool WaitForAssignment(
      const std::function<bool(const std::vector<int32_t>&)>& done,
      absl::Time deadline);

  // OK while folding runs (or ended by Stop()); otherwise why it stopped.
  absl::Status status() const;
  // The topic's partition count. REQUIRES: Start() succeeded.
  int32_t partition_count() const { return partition_count_; }
  // Progress of every partition in this store, as of its last commit.
  std::vector<store::v1::PartitionProgress> progress() const;
  // The partitions this member holds now, ascending.
  std::vector<int32_t> assignment() const;
  GroupProjectorStats stats() const;

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions,
                          void* opaque);
  static void OnCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* offsets, void* opaque);

  // The polling thread.
  void Run();
  // Polls up to max_batch_events records, then folds them.
  absl::Status PollRound();
  // Adds one polled record to its partition's pending batch.
  absl::Status Accept(const rd_kafka_message_t& message);
  // Folds and commits the pending batches of `partitions` (all when
  // nullptr), then commits their offsets to Kafka asynchronously.
  absl::Status FoldPending(const std::vector<int32_t>* partitions);
  void Assign(rd_kafka_topic_partition_list_t* partitions);
  void Revoke(rd_kafka_topic_partition_list_t* partitions);
  // Records the first failure; folding stops.
  void Fail(const absl::Status& s);

  infra::ProjectionStore* const store_;
  const GroupProjectorOptions options_;
  int32_t partition_count_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> killed_{false};

  mutable absl::Mutex mu_;
  std::vector<store::v1::PartitionProgress> progress_ ABSL_GUARDED_BY(mu_);
  std::vector<int32_t> assignment_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  GroupProjectorStats stats_ ABSL_GUARDED_BY(mu_);

  // State of the polling thread (and of the callbacks librdkafka runs on
  // it); declared before consumer_, which calls back into it.
  std::map<int32_t, std::unique_ptr<PartitionProjector>> projectors_;
  std::map<int32_t, std::vector<infra::LogRecord>> pending_;
  bool failed_ = false;

  infra::KafkaHandle consumer_;
  std::thread thread_;
};

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_GROUP_PROJECTOR_H_
