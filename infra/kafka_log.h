// KafkaLog: the event log on a Kafka topic — the backend for deployments
// that outgrow one machine. Same interface as the embedded log.
//
// Operation: Append() goes through a KafkaProducer (kafka_producer.h):
// idempotent, acks=all, murmur2_random partitioner, so a record's position
// is known once every in-sync replica has it, and a customer's events land
// in PartitionForKey(customer_id) whichever client wrote them. The record
// format is kehu's everywhere: key = customer_id bytes, value = serialized
// kehu.events.v1.Event.
//
// Reads use a separate consumer that never joins a group: on the first
// Read() or WaitForData() of a partition it assigns that partition to
// itself at the requested offset, and librdkafka then prefetches it into a
// queue of its own; a read at another offset seeks. EndOffset() asks the
// partition leader for its high watermark. (The projector of a Kafka
// deployment is a consumer-group member instead: see
// projections/group_projector.h. KafkaLog's reads serve tools, tests and
// the embedded-style Projector.)
//
// Concurrency: every method is thread-safe. Reads of one partition are
// serialized by a per-partition mutex (WaitForData() holds it while it
// waits), reads of different partitions run in parallel.
//
// Limitations: the EventLog contract needs consecutive offsets; a topic
// with gaps (compaction, transaction markers) makes Read() fail with
// FAILED_PRECONDITION at the gap. A position below the topic's first
// retained offset fails with OUT_OF_RANGE (the event topic should keep
// everything: retention.ms=-1). partition_count() is read once, at Open().
// Shutdown() does not cancel Append() calls already handing records to
// librdkafka: they finish.
#ifndef KEHU_INFRA_KAFKA_LOG_H_
#define KEHU_INFRA_KAFKA_LOG_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "infra/event_log.h"
#include "infra/kafka_config.h"
#include "infra/kafka_handles.h"
#include "infra/kafka_producer.h"

namespace kehu::infra {

struct KafkaLogOptions {
  // bootstrap.servers, e.g. "kafka1:9092,kafka2:9092".
  std::string brokers;
  std::string topic = "kehu.events";
  // librdkafka properties from the config file, passed through to the
  // producer and the reader.
  KafkaProperties properties;
  // How long Open() waits for the topic's metadata.
  absl::Duration metadata_timeout = absl::Seconds(10);
  // How long Read() waits for a record it knows exists (below the high
  // watermark) before failing with UNAVAILABLE.
  absl::Duration read_timeout = absl::Seconds(30);
  // Reads only (a replay, a tool): no producer is made, so Open() needs
  // nothing but read access to the topic, and Append() fails with
  // FAILED_PRECONDITION.
  bool read_only = false;
};

class KafkaLog final : public EventLog {
 public:
  // Connects the producer (unless read_only) and the reader and reads the
  // topic's partition count. Fails like KafkaProducer::Create(): NOT_FOUND
  // naming the topic when it does not exist.
  static absl::StatusOr<std::unique_ptr<KafkaLog>> Open(
      const KafkaLogOptions& options);

  // REQUIRES: no call on this log is in progress or will follow.
  ~KafkaLog() override;
  KafkaLog(const KafkaLog&) = delete;
  KafkaLog& operator=(const KafkaLog&) = delete;

  int32_t partition_count() const override { return partition_count_; }

  // Produces the records and returns their positions once every one is
  // acknowledged by all in-sync replicas. Fails with the first record's
  // error when any record failed (the others may be on the log: a retry
  // may append them twice, which the projector absorbs by event id), or
  // CANCELLED after Shutdown().
  absl::StatusOr<std::vector<LogPosition>> Append(
      absl::Span<const LogAppend> records) override;

  // Appends to `out` the records of `partition` from `offset` on, at most
  // `max_records`; none when `offset` is at or past the end. When records
  // exist there, waits for at least one (up to read_timeout). Fails with
  // INVALID_ARGUMENT for a partition out of range or a negative offset,
  // OUT_OF_RANGE below the first retained offset, FAILED_PRECONDITION at a
  // gap in the offsets; `out` is left untouched on error.
  absl::Status Read(int32_t partition, int64_t offset, size_t max_records,
                    std::vector<LogRecord>* out) override;

  // The partition's high watermark as the leader reports it; the last one
  // known (from earlier queries and acknowledged appends) when no broker
  // answers. REQUIRES: 0 <= partition < partition_count().
  int64_t EndOffset(int32_t partition) const override;

  // REQUIRES: 0 <= partition < partition_count().
  bool WaitForData(int32_t partition, int64_t offset,
                   absl::Time deadline) override;

  void Shutdown() override;

  // nullptr when opened read_only.
  KafkaProducer* producer() const { return producer_.get(); }

 private:
  // The reader's state for one partition; guarded by its own mutex.
  struct PartitionReader {
    absl::Mutex mu;
    // The partition's own queue (not forwarded to the consumer's), made on
    // first use.
    KafkaQueuePtr queue ABSL_GUARDED_BY(mu);
    bool assigned ABSL_GUARDED_BY(mu) = false;
    // Offset of the next record expected from `queue`.
    int64_t next ABSL_GUARDED_BY(mu) = 0;
    // Records taken from `queue` but not yet returned by Read().
    std::deque<LogRecord> buffered ABSL_GUARDED_BY(mu);
  };

  KafkaLog(const KafkaLogOptions& options,
           std::unique_ptr<KafkaProducer> producer);

  // Makes `reader` deliver `partition` from `offset`: keeps the buffered
  // records when they start there, else assigns or seeks.
  absl::Status Position(PartitionReader* reader, int32_t partition,
                        int64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(reader->mu);
  // Moves at most one record from the queue to `buffered`, waiting up to
  // `timeout` for it.
  absl::Status Pull(PartitionReader* reader, int32_t partition,
                    absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(reader->mu);
  // Asks the leader for the high watermark; updates known_end_.
  absl::StatusOr<int64_t> QueryEnd(int32_t partition) const;
  void NoteEnd(int32_t partition, int64_t end) const;

  const KafkaLogOptions options_;
  std::unique_ptr<KafkaProducer> producer_;
  int32_t partition_count_ = 0;
  std::atomic<bool> shutdown_{false};

  mutable absl::Mutex end_mu_;
  // Per partition: the highest end offset seen so far.
  mutable std::vector<int64_t> known_end_ ABSL_GUARDED_BY(end_mu_);

  // The reader; its partition queues (in readers_) are released first.
  KafkaHandle reader_;
  std::vector<std::unique_ptr<PartitionReader>> readers_;
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_KAFKA_LOG_H_
