// The Kafka pipeline under faults, on librdkafka's mock cluster (and, for
// the faults a real cluster can have without injection, on the cluster
// named by KEHU_KAFKA_BROKERS): events appended through KafkaLog, folded by
// GroupProjector members. Every test ends with the stored views equal,
// byte for byte, to a fault-free run on the embedded log: nothing lost,
// nothing counted twice.
#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/kafka_log.h"
#include "infra/murmur2.h"
#include "projections/group_projector.h"
#include "tests/testing/customer_states.h"
#include "tests/testing/kafka_test_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu {
namespace {

using events::v1::Event;
using projections::GroupProjector;
using projections::GroupProjectorOptions;
using testing::KafkaBackend;
using testing::KafkaTestCluster;

// A safety net only: every wait ends as soon as its condition holds.
constexpr absl::Duration kPatience = absl::Seconds(90);
constexpr int32_t kPartitions = 6;

int64_t Sum(const std::vector<int64_t>& v) {
  int64_t sum = 0;
  for (int64_t x : v) sum += x;
  return sum;
}

int64_t Folded(const std::vector<store::v1::PartitionProgress>& progress) {
  int64_t sum = 0;
  for (const auto& p : progress) sum += p.next_offset();
  return sum;
}

// `ends`, with 0 for the partitions not in `held`.
std::vector<int64_t> Only(const std::vector<int64_t>& ends,
                          const std::vector<int32_t>& held) {
  std::vector<int64_t> only(ends.size(), 0);
  for (int32_t p : held) only[p] = ends[p];
  return only;
}

// Waits until `a` and `b` both hold partitions and together hold all: the
// cooperative protocol moves partitions in two rebalances (revoke, then
// assign), so one member's change alone does not say the move is over.
bool WaitUntilSplit(GroupProjector& a, GroupProjector& b) {
  const absl::Time deadline = absl::Now() + kPatience;
  while (absl::Now() < deadline) {
    const auto held_a = a.assignment();
    const auto held_b = b.assignment();
    if (!held_a.empty() && !held_b.empty() &&
        held_a.size() + held_b.size() == kPartitions) {
      return true;
    }
    // Wake on B's next change, or re-check A after a moment.
    b.WaitForAssignment([&](const auto& held) { return held != held_b; },
                        absl::Now() + absl::Milliseconds(100));
  }
  return false;
}

class KafkaFaultsTest : public ::testing::TestWithParam<KafkaBackend> {
 protected:
  static void SetUpTestSuite() {
    events_ = new std::vector<Event>(testing::SimulatedEvents(100, 90, 11));
    testing::TempDir dir;
    expected_ = new testing::CustomerStates(testing::EmbeddedStates(
        *events_, events_->size(), kPartitions, dir.path()));
  }
  static void TearDownTestSuite() {
    delete events_;
    delete expected_;
  }

  void SetUp() override {
    KEHU_SKIP_UNLESS_KAFKA_BACKEND(GetParam());
    ASSERT_GT(events_->size(), 400u);
    ASSERT_GT(expected_->size(), 50u);
    ASSERT_OK_AND_ASSIGN(cluster_, KafkaTestCluster::Start(GetParam()));
    ASSERT_OK_AND_ASSIGN(topic_, cluster_->CreateTopic("faults", kPartitions));
    infra::KafkaLogOptions options;
    options.brokers = cluster_->brokers();
    options.topic = topic_;
    options.properties = cluster_->properties();
    ASSERT_OK_AND_ASSIGN(log_, infra::KafkaLog::Open(options));
  }

  void SkipUnlessMock() {
    if (cluster_->mock() == nullptr) {
      GTEST_SKIP() << "this fault is injected through the mock cluster";
    }
  }

  GroupProjectorOptions ProjectorOptions() const {
    GroupProjectorOptions options;
    options.brokers = cluster_->brokers();
    options.topic = topic_;
    options.group = topic_ + "-projector";
    options.properties = cluster_->properties();
    // Small rounds, so that a fault lands in the middle of a batch.
    options.max_batch_events = 25;
    return options;
  }

  absl::StatusOr<std::unique_ptr<infra::ProjectionStore>> OpenStore(
      const std::string& dir) {
    return infra::ProjectionStore::Open(dir, {});
  }

  size_t third() const { return events_->size() / 3; }

  static std::vector<Event>* events_;
  static testing::CustomerStates* expected_;

  std::unique_ptr<KafkaTestCluster> cluster_;
  std::string topic_;
  std::unique_ptr<infra::KafkaLog> log_;
};

std::vector<Event>* KafkaFaultsTest::events_ = nullptr;
testing::CustomerStates* KafkaFaultsTest::expected_ = nullptr;

TEST_P(KafkaFaultsTest, FaultFreeRunFoldsTheViewsOfTheEmbeddedLog) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore(dir.path()));
  GroupProjector projector(store.get(), ProjectorOptions());
  ASSERT_OK(projector.Start());
  std::vector<int64_t> ends;
  ASSERT_OK(
      testing::AppendEvents(log_.get(), *events_, 0, events_->size(), &ends));
  // The idempotent producer wrote each event exactly once.
  EXPECT_EQ(Sum(ends), static_cast<int64_t>(events_->size()));
  ASSERT_TRUE(projector.WaitUntilFolded(ends, absl::Now() + kPatience))
      << projector.status();
  // Same partitions (murmur2) and, appended in the same order, the same
  // offsets: the states agree byte for byte, log positions included.
  testing::ExpectSameStates(testing::StoredStates(store.get()), *expected_);
  projector.Stop();
  EXPECT_OK(projector.status());
  EXPECT_GT(projector.stats().kafka_commits, 0u);
}

TEST_P(KafkaFaultsTest, BrokerDownAndUpMidStreamLosesNothing) {
  SkipUnlessMock();
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore(dir.path()));
  GroupProjector projector(store.get(), ProjectorOptions());
  ASSERT_OK(projector.Start());
  std::vector<int64_t> ends;
  ASSERT_OK(testing::AppendEvents(log_.get(), *events_, 0, third(), &ends));
  ASSERT_TRUE(projector.WaitUntilFolded(ends, absl::Now() + kPatience));
  const int64_t before = Sum(ends);

  // Broker 1 leads some partitions: their appends and fetches stall while
  // the others go on.
  ASSERT_OK(cluster_->mock()->SetBrokerDown(1));
  std::vector<int64_t> ends2 = ends;
  absl::Status appended;
  std::thread appender([&] {
    appended = testing::AppendEvents(log_.get(), *events_, third(), 2 * third(),
                                     &ends2);
  });
  // The outage lasts until more has been folded (records of the chunk in
  // flight that went to partitions of the brokers still up), or at most a
  // few seconds: whether anything can flow meanwhile depends on which
  // partitions the chunk in flight touches and on the idempotent producer
  // (which may hold back every partition while one is unreachable), so
  // progress during the outage is not asserted. What is asserted is the
  // end: nothing lost, nothing folded twice.
  projector.WaitForProgress(
      [&](const auto& progress) { return Folded(progress) > before; },
      absl::Now() + absl::Seconds(5));
  // ... and the stalled ones resume when the broker is back.
  ASSERT_OK(cluster_->mock()->SetBrokerUp(1));
  appender.join();
  ASSERT_OK(appended);
  ASSERT_OK(testing::AppendEvents(log_.get(), *events_, 2 * third(),
                                  events_->size(), &ends2));
  EXPECT_EQ(Sum(ends2), static_cast<int64_t>(events_->size()));
  ASSERT_TRUE(projector.WaitUntilFolded(ends2, absl::Now() + kPatience))
      << projector.status();
  testing::ExpectSameStates(testing::StoredStates(store.get()), *expected_);
}

TEST_P(KafkaFaultsTest, InjectedProduceAndFetchErrorsLoseNothing) {
  SkipUnlessMock();
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore(dir.path()));
  GroupProjector projector(store.get(), ProjectorOptions());
  ASSERT_OK(projector.Start());
  std::vector<int64_t> ends;
  ASSERT_OK(testing::AppendEvents(log_.get(), *events_, 0, third(), &ends));

  // Retriable produce errors: the idempotent producer retries without
  // writing twice. Fetch errors, including an offset reset that sends the
  // consumer back to the start of the partitions: records already folded
  // must be skipped, not folded again.
  cluster_->mock()->PushRequestErrors(
      infra::kKafkaProduceRequest,
      {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
       RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
       RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
       RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
       RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND});
  cluster_->mock()->PushRequestErrors(
      infra::kKafkaFetchRequest, {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                  RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                                  RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE,
                                  RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT});
  ASSERT_OK(testing::AppendEvents(log_.get(), *events_, third(),
                                  events_->size(), &ends));
  EXPECT_EQ(Sum(ends), static_cast<int64_t>(events_->size()));
  ASSERT_TRUE(projector.WaitUntilFolded(ends, absl::Now() + kPatience))
      << projector.status();
  testing::ExpectSameStates(testing::StoredStates(store.get()), *expected_);
  int64_t duplicates = 0;
  for (const auto& p : projector.progress()) duplicates += p.duplicates();
  EXPECT_EQ(duplicates, 0);
}

TEST_P(KafkaFaultsTest, ProjectorKilledMidBatchAndRestartedLosesNothing) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore(dir.path()));
  std::vector<int64_t> ends;
  absl::Status appended;
  {
    // Crash while events flow, once a third of them reached the folds, as
    // a partition's batch is about to be folded: it and the rest of its
    // round are lost with the process.
    GroupProjectorOptions options = ProjectorOptions();
    std::atomic<size_t> seen{0};
    absl::Notification crashed;
    options.crash_before_fold = [&](int32_t, size_t records) {
      if (crashed.HasBeenNotified()) return false;
      if ((seen += records) < third()) return false;
      crashed.Notify();
      return true;
    };
    GroupProjector first(store.get(), options);
    ASSERT_OK(first.Start());
    std::thread appender([&] {
      appended = testing::AppendEvents(log_.get(), *events_, 0, events_->size(),
                                       &ends, /*chunk=*/10);
    });
    ASSERT_TRUE(crashed.WaitForNotificationWithTimeout(kPatience));
    first.Kill();
    EXPECT_GT(first.stats().dropped_on_kill, 0u);
    appender.join();
  }
  ASSERT_OK(appended);

  GroupProjector second(store.get(), ProjectorOptions());
  ASSERT_OK(second.Start());
  ASSERT_TRUE(second.WaitUntilFolded(ends, absl::Now() + kPatience))
      << second.status();
  testing::ExpectSameStates(testing::StoredStates(store.get()), *expected_);
  int64_t duplicates = 0;
  for (const auto& p : second.progress()) duplicates += p.duplicates();
  EXPECT_EQ(duplicates, 0) << "records folded before the kill were refolded";
}

TEST_P(KafkaFaultsTest, PartitionsMoveBetweenTwoInstancesThenOneLeaves) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store_a, OpenStore(dir.Sub("a")));
  ASSERT_OK_AND_ASSIGN(auto store_b, OpenStore(dir.Sub("b")));
  testing::TempDir prefix_dir;
  const testing::CustomerStates expected_prefix = testing::EmbeddedStates(
      *events_, 2 * third(), kPartitions, prefix_dir.path());

  GroupProjector a(store_a.get(), ProjectorOptions());
  ASSERT_OK(a.Start());
  ASSERT_TRUE(a.WaitForAssignment(
      [](const auto& held) { return held.size() == kPartitions; },
      absl::Now() + kPatience));
  std::vector<int64_t> ends;
  ASSERT_OK(testing::AppendEvents(log_.get(), *events_, 0, third(), &ends));

  // B joins while events flow: the group moves partitions from A to B.
  absl::Status appended;
  std::thread appender([&] {
    appended = testing::AppendEvents(log_.get(), *events_, third(), 2 * third(),
                                     &ends, /*chunk=*/10);
  });
  auto b = std::make_unique<GroupProjector>(store_b.get(), ProjectorOptions());
  ASSERT_OK(b->Start());
  ASSERT_TRUE(WaitUntilSplit(a, *b));
  appender.join();
  ASSERT_OK(appended);
  const std::vector<int32_t> held_a = a.assignment();
  const std::vector<int32_t> held_b = b->assignment();
  ASSERT_EQ(held_a.size() + held_b.size(), static_cast<size_t>(kPartitions))
      << "the group moved partitions again";

  // Each instance's store is current for the partitions it holds; B built
  // its partitions from the beginning of the topic.
  ASSERT_TRUE(a.WaitUntilFolded(Only(ends, held_a), absl::Now() + kPatience))
      << a.status();
  ASSERT_TRUE(b->WaitUntilFolded(Only(ends, held_b), absl::Now() + kPatience))
      << b->status();
  testing::ExpectSameStates(
      testing::StatesOfPartitions(testing::StoredStates(store_a.get()), held_a,
                                  kPartitions),
      testing::StatesOfPartitions(expected_prefix, held_a, kPartitions));
  testing::ExpectSameStates(
      testing::StatesOfPartitions(testing::StoredStates(store_b.get()), held_b,
                                  kPartitions),
      testing::StatesOfPartitions(expected_prefix, held_b, kPartitions));

  // B leaves: A takes its partitions back and continues each from where
  // its own store left it, not from B's progress.
  b->Stop();
  EXPECT_OK(b->status());
  EXPECT_GT(b->stats().partitions_assigned, 0u);
  b.reset();
  ASSERT_TRUE(a.WaitForAssignment(
      [](const auto& held) { return held.size() == kPartitions; },
      absl::Now() + kPatience));
  ASSERT_OK(testing::AppendEvents(log_.get(), *events_, 2 * third(),
                                  events_->size(), &ends));
  ASSERT_TRUE(a.WaitUntilFolded(ends, absl::Now() + kPatience)) << a.status();
  testing::ExpectSameStates(testing::StoredStates(store_a.get()), *expected_);
  EXPECT_GT(a.stats().partitions_revoked, 0u);
  a.Stop();
  EXPECT_OK(a.status());
}

INSTANTIATE_TEST_SUITE_P(Backends, KafkaFaultsTest,
                         ::testing::Values(KafkaBackend::kMock,
                                           KafkaBackend::kReal),
                         testing::KafkaBackendName);

}  // namespace
}  // namespace kehu
