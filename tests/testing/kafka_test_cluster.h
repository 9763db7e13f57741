// Where the Kafka tests run: librdkafka's in-process mock cluster (always),
// or the real cluster named by the environment variable KEHU_KAFKA_BROKERS
// (e.g. "localhost:9092"). Tests are parameterized over KafkaBackend; the
// real-cluster run says visibly that it skipped when the variable is unset.
// Header-only so that any test can include it.
#ifndef KEHU_TESTS_TESTING_KAFKA_TEST_CLUSTER_H_
#define KEHU_TESTS_TESTING_KAFKA_TEST_CLUSTER_H_

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "infra/kafka_admin.h"
#include "infra/kafka_config.h"
#include "infra/kafka_mock_cluster.h"

namespace kehu::testing {

enum class KafkaBackend { kMock, kReal };

inline std::string KafkaBackendName(
    const ::testing::TestParamInfo<KafkaBackend>& info) {
  return info.param == KafkaBackend::kMock ? "MockCluster" : "RealCluster";
}

// The brokers of a real cluster, "" when KEHU_KAFKA_BROKERS is unset.
inline std::string RealKafkaBrokers() {
  const char* brokers = std::getenv("KEHU_KAFKA_BROKERS");
  return brokers != nullptr ? brokers : "";
}

// In a test's body (or SetUp): skips, saying so, the real-cluster run when
// no real cluster is configured.
#define KEHU_SKIP_UNLESS_KAFKA_BACKEND(backend)                             \
  do {                                                                      \
    if ((backend) == ::kehu::testing::KafkaBackend::kReal &&                \
        ::kehu::testing::RealKafkaBrokers().empty()) {                      \
      GTEST_SKIP() << "KEHU_KAFKA_BROKERS is not set: skipping the run "    \
                      "against a real Kafka cluster (the mock-cluster run " \
                      "of this test covers the same behaviour)";            \
    }                                                                       \
  } while (0)

class KafkaTestCluster {
 public:
  // REQUIRES: for kReal, RealKafkaBrokers() is not empty.
  static absl::StatusOr<std::unique_ptr<KafkaTestCluster>> Start(
      KafkaBackend backend, int mock_brokers = 3) {
    auto cluster = std::unique_ptr<KafkaTestCluster>(new KafkaTestCluster());
    cluster->backend_ = backend;
    if (backend == KafkaBackend::kMock) {
      auto mock = infra::KafkaMockCluster::Create(mock_brokers);
      if (!mock.ok()) return mock.status();
      cluster->mock_ = std::move(*mock);
      cluster->brokers_ = cluster->mock_->bootstraps();
    } else {
      cluster->brokers_ = RealKafkaBrokers();
    }
    auto admin = infra::KafkaAdmin::Create(cluster->brokers_, {});
    if (!admin.ok()) return admin.status();
    cluster->admin_ = std::move(*admin);
    return cluster;
  }

  const std::string& brokers() const { return brokers_; }
  // The mock cluster, for fault injection; nullptr on a real cluster.
  infra::KafkaMockCluster* mock() const { return mock_.get(); }
  KafkaBackend backend() const { return backend_; }

  // Creates a topic named after `base`, unique to this process, replicated
  // up to three times; returns its name once its metadata is visible.
  absl::StatusOr<std::string> CreateTopic(const std::string& base,
                                          int partitions) {
    static std::atomic<int> counter{0};
    const std::string name =
        absl::StrCat("kehu-test-", getpid(), "-", counter++, "-", base);
    if (mock_ != nullptr) {
      absl::Status s = mock_->CreateTopic(name, partitions,
                                          std::min(3, mock_->broker_count()));
      if (!s.ok()) return s;
    } else {
      auto brokers = admin_->BrokerCount(absl::Seconds(10));
      if (!brokers.ok()) return brokers.status();
      infra::TopicSpec spec;
      spec.name = name;
      spec.partitions = partitions;
      spec.replication_factor = std::min(3, *brokers);
      spec.configs["retention.ms"] = "-1";
      absl::Status s = admin_->CreateTopics({spec}, absl::Seconds(30))[0];
      if (!s.ok()) return s;
    }
    // Wait (bounded) until the topic's metadata is visible.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (true) {
      auto count = admin_->PartitionCount(name, absl::Seconds(5));
      if (count.ok() && *count == partitions) {
        return name;
      }
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("topic ", name, " did not appear"));
      }
    }
  }

  // librdkafka properties for the tests' clients: on the mock, short
  // session timeouts so that group rebalances (whose delay the mock derives
  // from them) and the detection of a crashed member take about a second
  // rather than the 45 s default, and quick reconnects after a broker comes
  // back.
  infra::KafkaProperties properties() const {
    const std::string origin = "test";
    if (backend_ == KafkaBackend::kMock) {
      return {{"session.timeout.ms", "2500", origin},
              {"heartbeat.interval.ms", "300", origin},
              {"reconnect.backoff.ms", "50", origin},
              {"reconnect.backoff.max.ms", "500", origin}};
    }
    return {{"session.timeout.ms", "10000", origin},
            {"heartbeat.interval.ms", "1000", origin}};
  }

 private:
  KafkaTestCluster() = default;

  KafkaBackend backend_ = KafkaBackend::kMock;
  std::unique_ptr<infra::KafkaMockCluster> mock_;
  std::string brokers_;
  std::unique_ptr<infra::KafkaAdmin> admin_;
};

}  // namespace kehu::testing

#endif  // KEHU_TESTS_TESTING_KAFKA_TEST_CLUSTER_H_
