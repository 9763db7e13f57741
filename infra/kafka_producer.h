// KafkaProducer: appends records to one Kafka topic and reports, per
// record, where it landed — once every in-sync replica has it.
//
// Operation: a librdkafka producer with enable.idempotence=true, acks=all,
// partitioner=murmur2_random (the Java client's: a customer's events land in
// PartitionForKey(customer_id), whichever client wrote them), lz4
// compression and a 5 ms linger (kafka_config.h; a config file may tune
// the rest). Produce() hands each record to librdkafka, tagged with its
// slot in the call, and blocks until librdkafka has delivered a report for
// every one of them; the reports, served by a background thread, fill the
// slots. Idempotence means librdkafka's internal retries (broker down,
// leader moved, request timed out) never write a record twice nor reorder a
// partition. When librdkafka's local queue is full (QUEUE_FULL), Produce()
// waits for deliveries to make room and tries again: back-pressure, never a
// dropped record.
//
// Concurrency: thread-safe; concurrent Produce() calls share the producer
// and its batches.
//
// Limitations: a record's delivery can take up to librdkafka's
// message.timeout.ms (5 min by default) while the cluster is unreachable;
// Produce() waits that long. After a fatal error (e.g. the idempotent
// producer's sequence was lost) every later Produce() fails with ABORTED:
// recreate the producer. The topic must exist (`kehu topics create`).
#ifndef KEHU_INFRA_KAFKA_PRODUCER_H_
#define KEHU_INFRA_KAFKA_PRODUCER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
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

namespace kehu::infra {

struct KafkaProducerOptions {
  // bootstrap.servers, e.g. "kafka1:9092,kafka2:9092".
  std::string brokers;
  std::string topic = "kehu.events";
  // librdkafka properties from the config file, passed through.
  KafkaProperties properties;
  // How long Create() waits for the topic's metadata.
  absl::Duration metadata_timeout = absl::Seconds(10);
};

// Counters since Create(), for metrics and tests.
struct KafkaProducerStats {
  // Records acknowledged by the cluster.
  uint64_t delivered = 0;
  // Records whose delivery failed (reported to their caller).
  uint64_t failed = 0;
  // Times a record found librdkafka's queue full and waited for room.
  uint64_t queue_full_waits = 0;
  // Errors librdkafka reported about the cluster (broker down, ...); it
  // retries on its own.
  uint64_t cluster_errors = 0;
};

class KafkaProducer {
 public:
  // Connects to the cluster and reads the topic's partition count. Fails
  // with INVALID_ARGUMENT naming a bad property, NOT_FOUND when the topic
  // does not exist, UNAVAILABLE when no broker answers.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(
      const KafkaProducerOptions& options);

  // Waits up to 10 s for records still in flight, then closes.
  // REQUIRES: no Produce() call is in progress or will follow.
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  const std::string& topic() const { return topic_; }
  // The topic's partition count when Create() asked.
  int32_t partition_count() const { return partition_count_; }

  // Produces each record (key = record.key, value = record.value) and
  // blocks until each is acknowledged or has failed. Returns one result per
  // record, in the order given: its position, or why it was not appended
  // (CANCELLED after Shutdown(), ABORTED after a fatal error, the broker's
  // error otherwise). Records of one call that share a partition keep
  // their order there.
  std::vector<absl::StatusOr<LogPosition>> Produce(
      absl::Span<const LogAppend> records);

  // Makes later Produce() calls fail with CANCELLED; calls in progress
  // finish normally.
  void Shutdown();

  // OK unless librdkafka reported a fatal error.
  absl::Status health() const;
  KafkaProducerStats stats() const;

  // The underlying handle, for metadata queries.
  rd_kafka_t* handle() const { return rk_.get(); }

 private:
  // The outstanding records of one Produce() call; lives on its stack.
  struct Call {
    std::vector<absl::StatusOr<LogPosition>> results;
    size_t outstanding = 0;
  };
  // Each record's tag in librdkafka (its msg_opaque).
  struct Slot {
    Call* call;
    size_t index;
  };

  explicit KafkaProducer(const KafkaProducerOptions& options);

  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message,
                         void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason,
                      void* opaque);
  void PollLoop();

  const std::string topic_;
  int32_t partition_count_ = 0;

  // Callback state: declared before rk_, so it outlives librdkafka's
  // callbacks.
  mutable absl::Mutex mu_;
  KafkaProducerStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> shutdown_{false};
  std::atomic<bool> stop_polling_{false};

  KafkaHandle rk_;
  // Serves delivery reports and errors; joined before rk_ is destroyed.
  std::thread poller_;
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_KAFKA_PRODUCER_H_
