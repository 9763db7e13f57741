// KafkaMockCluster: librdkafka's in-process mock Kafka cluster
// (rdkafka_mock.h) — brokers that speak the Kafka protocol on loopback
// ports inside this process — for tests and demos of the Kafka backend,
// with fault injection.
//
// Operation: Create() makes a dedicated librdkafka handle that owns the
// cluster (it connects nowhere itself); any number of clients, in this
// process or another one on the machine, connect to bootstraps().
//
// Concurrency: every method is thread-safe (librdkafka's mock API is).
//
// Limitations: the mock keeps only a few MB per partition and drops older
// data, so a consumer starting late can find its offset gone; it does not
// implement the admin API's CreateTopics or DescribeConfigs (create topics
// with CreateTopic() instead), nor replication: a broker set down takes
// its partitions' leadership with it until it is set up again. The mock
// API is marked experimental by librdkafka.
#ifndef KEHU_INFRA_KAFKA_MOCK_CLUSTER_H_
#define KEHU_INFRA_KAFKA_MOCK_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/kafka_handles.h"
#include "librdkafka/rdkafka_mock.h"

namespace kehu::infra {

// Kafka protocol request types, for PushRequestErrors().
inline constexpr int16_t kKafkaProduceRequest = 0;
inline constexpr int16_t kKafkaFetchRequest = 1;

class KafkaMockCluster {
 public:
  // Starts `brokers` brokers (ids 1..brokers) on loopback ports.
  static absl::StatusOr<std::unique_ptr<KafkaMockCluster>> Create(
      int brokers = 3);

  // Stops the brokers; clients still connected see them go down.
  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  // "127.0.0.1:PORT,..." for bootstrap.servers.
  const std::string& bootstraps() const { return bootstraps_; }
  int broker_count() const { return broker_count_; }

  // Creates `topic` with `partitions` partitions, each replicated
  // `replication` times (at most broker_count()).
  absl::Status CreateTopic(const std::string& topic, int partitions,
                           int replication);

  // Disconnects broker `broker_id` (-1: all) and refuses new connections,
  // without moving partition leadership; SetBrokerUp() undoes it.
  absl::Status SetBrokerDown(int32_t broker_id);
  absl::Status SetBrokerUp(int32_t broker_id);

  // Makes the next `errors.size()` requests of type `api_key` (e.g.
  // kKafkaProduceRequest), on whichever broker, fail with those errors, in
  // order.
  void PushRequestErrors(int16_t api_key,
                         const std::vector<rd_kafka_resp_err_t>& errors);

  // Moves the leadership of `topic`/`partition` to `broker_id`.
  absl::Status SetPartitionLeader(const std::string& topic, int32_t partition,
                                  int32_t broker_id);

  // The raw cluster, for the rest of rdkafka_mock.h.
  rd_kafka_mock_cluster_t* get() const { return cluster_; }

 private:
  KafkaMockCluster() = default;

  // Owns the cluster: declared first, destroyed after it.
  KafkaHandle handle_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
  int broker_count_ = 0;
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_KAFKA_MOCK_CLUSTER_H_
