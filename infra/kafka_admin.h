// KafkaAdmin: creates and describes kehu's topics through Kafka's admin API
// (`kehu topics create|describe`, and tests against a real cluster).
//
// Operation: one admin client (a librdkafka producer handle that never
// produces) per KafkaAdmin; each call sends its request and waits for the
// result on a private queue, up to the given timeout.
//
// Concurrency: thread-safe (librdkafka's admin API is).
//
// Limitations: librdkafka's mock cluster answers metadata but not
// CreateTopics or DescribeConfigs; there, CreateTopics() times out and
// DescribeTopic() reports the configs as unavailable.
#ifndef KEHU_INFRA_KAFKA_ADMIN_H_
#define KEHU_INFRA_KAFKA_ADMIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "infra/kafka_config.h"
#include "infra/kafka_handles.h"

namespace kehu::infra {

// The event topic's default name, and the suffix of its dead-letter topic.
inline constexpr char kDefaultEventTopic[] = "kehu.events";
inline constexpr char kDeadLetterTopicSuffix[] = ".dlq";

struct TopicSpec {
  std::string name;
  int partitions = 8;
  int replication_factor = 3;
  // Topic configs, e.g. {"retention.ms", "-1"}.
  std::map<std::string, std::string> configs;
};

struct PartitionDescription {
  int32_t id = 0;
  int32_t leader = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> in_sync_replicas;
};

struct TopicDescription {
  std::string name;
  std::vector<PartitionDescription> partitions;
  // The topic's configs that differ from the broker defaults.
  std::map<std::string, std::string> configs;
  // Why `configs` is empty when the cluster would not say (e.g. the mock
  // cluster); OK otherwise.
  absl::Status configs_status;
};

// The number of partitions of `topic`, from the cluster's metadata, asked
// through `rk` (any client handle). NOT_FOUND, naming the topic and saying
// how to create it, when it does not exist; UNAVAILABLE when no broker
// answers within `timeout`.
absl::StatusOr<int32_t> FetchPartitionCount(rd_kafka_t* rk,
                                            const std::string& topic,
                                            absl::Duration timeout);

class KafkaAdmin {
 public:
  // `properties` are passed through (kafka_config.h), e.g. for SASL.
  static absl::StatusOr<std::unique_ptr<KafkaAdmin>> Create(
      const std::string& brokers, const KafkaProperties& properties);

  KafkaAdmin(const KafkaAdmin&) = delete;
  KafkaAdmin& operator=(const KafkaAdmin&) = delete;

  // Creates the topics; one status per topic, in order: OK, ALREADY_EXISTS
  // when a topic of that name exists (whatever its settings), or the
  // broker's reason (e.g. INVALID_ARGUMENT for a replication factor larger
  // than the cluster). A failure of the whole request gives every topic
  // that status.
  std::vector<absl::Status> CreateTopics(const std::vector<TopicSpec>& topics,
                                         absl::Duration timeout);

  // FetchPartitionCount() through this client.
  absl::StatusOr<int32_t> PartitionCount(const std::string& topic,
                                         absl::Duration timeout) {
    return FetchPartitionCount(rk_.get(), topic, timeout);
  }

  // The number of brokers the cluster's metadata lists.
  absl::StatusOr<int> BrokerCount(absl::Duration timeout);

  // Partitions (leader, replicas, in-sync replicas) from the metadata, and
  // the configs set on the topic.
  absl::StatusOr<TopicDescription> DescribeTopic(const std::string& topic,
                                                 absl::Duration timeout);

 private:
  explicit KafkaAdmin(KafkaHandle rk) : rk_(std::move(rk)) {}

  KafkaHandle rk_;
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_KAFKA_ADMIN_H_
