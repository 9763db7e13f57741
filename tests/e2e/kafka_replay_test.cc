// One log, two backends, one digest: the same events appended to the
// embedded log and to a Kafka topic, folded by a live consumer-group
// member on Kafka and replayed from either log, give stores with the same
// digest (after a fit at the same reference time). Runs on librdkafka's
// mock cluster, and on the cluster named by KEHU_KAFKA_BROKERS.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "infra/embedded_log.h"
#include "infra/kafka_log.h"
#include "infra/store_digest.h"
#include "projections/group_projector.h"
#include "projections/population.h"
#include "projections/replay.h"
#include "tests/testing/customer_states.h"
#include "tests/testing/kafka_test_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu {
namespace {

using testing::KafkaBackend;
using testing::KafkaTestCluster;

constexpr int32_t kPartitions = 6;
// A safety net only: the wait ends as soon as everything is folded.
constexpr absl::Duration kPatience = absl::Seconds(90);
// 2025-04-01, after the simulated 90 days.
const absl::Time kAsOf = absl::FromUnixSeconds(1743465600);

std::string Digest(const infra::ProjectionStore& store) {
  auto digest = infra::DigestStore(store);
  EXPECT_OK(digest);
  return digest.ok() ? digest->hex : "";
}

class KafkaReplayTest : public ::testing::TestWithParam<KafkaBackend> {};

TEST_P(KafkaReplayTest, EmbeddedAndKafkaLogsOfTheSameEventsGiveOneDigest) {
  KEHU_SKIP_UNLESS_KAFKA_BACKEND(GetParam());
  // Small: the mock cluster keeps only a few MB per partition.
  const auto events = testing::SimulatedEvents(100, 90, 11);
  ASSERT_GT(events.size(), 400u);
  testing::TempDir dir;
  projections::ReplayOptions fit;
  fit.fit_as_of = kAsOf;

  // The embedded log, replayed.
  infra::EmbeddedLogOptions embedded_options;
  embedded_options.partitions = kPartitions;
  embedded_options.sync = false;
  ASSERT_OK_AND_ASSIGN(auto embedded, infra::EmbeddedLog::Open(
                                          dir.Sub("log"), embedded_options));
  std::vector<int64_t> embedded_ends;
  ASSERT_OK(testing::AppendEvents(embedded.get(), events, 0, events.size(),
                                  &embedded_ends));
  ASSERT_OK_AND_ASSIGN(auto from_embedded,
                       infra::ProjectionStore::Open(dir.Sub("embedded"), {}));
  ASSERT_OK(projections::Replay(embedded.get(), from_embedded.get(), fit));

  // The same events on a Kafka topic: same partitions (murmur2), and,
  // appended in the same order, the same offsets.
  ASSERT_OK_AND_ASSIGN(auto cluster, KafkaTestCluster::Start(GetParam()));
  ASSERT_OK_AND_ASSIGN(std::string topic,
                       cluster->CreateTopic("replay", kPartitions));
  infra::KafkaLogOptions kafka_options;
  kafka_options.brokers = cluster->brokers();
  kafka_options.topic = topic;
  kafka_options.properties = cluster->properties();
  ASSERT_OK_AND_ASSIGN(auto kafka, infra::KafkaLog::Open(kafka_options));
  std::vector<int64_t> kafka_ends;
  ASSERT_OK(testing::AppendEvents(kafka.get(), events, 0, events.size(),
                                  &kafka_ends));
  ASSERT_EQ(kafka_ends, embedded_ends);

  // Folded live by a consumer-group member, in its own rounds...
  ASSERT_OK_AND_ASSIGN(auto live,
                       infra::ProjectionStore::Open(dir.Sub("live"), {}));
  {
    projections::GroupProjectorOptions options;
    options.brokers = cluster->brokers();
    options.topic = topic;
    options.group = topic + "-projector";
    options.properties = cluster->properties();
    options.max_batch_events = 25;
    projections::GroupProjector projector(live.get(), options);
    ASSERT_OK(projector.Start());
    ASSERT_TRUE(projector.WaitUntilFolded(kafka_ends, absl::Now() + kPatience))
        << projector.status();
    projector.Stop();
    ASSERT_OK(projector.status());
  }
  ASSERT_OK(projections::RunPopulationStep(live.get(), kAsOf));

  // ... and replayed from the topic.
  ASSERT_OK_AND_ASSIGN(auto from_kafka,
                       infra::ProjectionStore::Open(dir.Sub("kafka"), {}));
  ASSERT_OK(projections::Replay(kafka.get(), from_kafka.get(), fit));

  const std::string expected = Digest(*from_embedded);
  EXPECT_EQ(Digest(*live), expected);
  EXPECT_EQ(Digest(*from_kafka), expected);
}

INSTANTIATE_TEST_SUITE_P(Backends, KafkaReplayTest,
                         ::testing::Values(KafkaBackend::kMock,
                                           KafkaBackend::kReal),
                         testing::KafkaBackendName);

}  // namespace
}  // namespace kehu
