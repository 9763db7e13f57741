// KafkaLog on librdkafka's mock cluster (and on a real cluster when
// KEHU_KAFKA_BROKERS is set): the EventLog contract, the producer's
// guarantees, back-pressure.
#include "infra/kafka_log.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/murmur2.h"
#include "projections/projector.h"
#include "tests/testing/customer_states.h"
#include "tests/testing/kafka_test_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::infra {
namespace {

using ::testing::HasSubstr;
using testing::KafkaBackend;
using testing::KafkaTestCluster;

constexpr absl::Duration kPatience = absl::Seconds(60);

class KafkaLogTest : public ::testing::TestWithParam<KafkaBackend> {
 protected:
  void SetUp() override {
    KEHU_SKIP_UNLESS_KAFKA_BACKEND(GetParam());
    ASSERT_OK_AND_ASSIGN(cluster_, KafkaTestCluster::Start(GetParam()));
    ASSERT_OK_AND_ASSIGN(topic_, cluster_->CreateTopic("log", 4));
  }

  KafkaLogOptions Options() const {
    KafkaLogOptions options;
    options.brokers = cluster_->brokers();
    options.topic = topic_;
    options.properties = cluster_->properties();
    return options;
  }

  static std::vector<LogAppend> Records(int n, const std::string& prefix) {
    std::vector<LogAppend> records;
    for (int i = 0; i < n; ++i) {
      records.push_back(
          {absl::StrCat("C", i % 13), absl::StrCat(prefix, "-", i)});
    }
    return records;
  }

  std::unique_ptr<KafkaTestCluster> cluster_;
  std::string topic_;
};

TEST_P(KafkaLogTest, AppendLandsEachRecordInItsMurmur2PartitionInOrder) {
  ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options()));
  EXPECT_EQ(log->partition_count(), 4);
  auto records = Records(200, "a");
  ASSERT_OK_AND_ASSIGN(auto positions, log->Append(records));
  ASSERT_EQ(positions.size(), records.size());
  std::vector<int64_t> next(4, 0);
  for (size_t i = 0; i < records.size(); ++i) {
    // The partition a Java producer would choose for the customer.
    EXPECT_EQ(positions[i].partition, PartitionForKey(records[i].key, 4)) << i;
    // Consecutive offsets from 0, in the order given.
    EXPECT_EQ(positions[i].offset, next[positions[i].partition]++) << i;
  }
  for (int32_t p = 0; p < 4; ++p) EXPECT_EQ(log->EndOffset(p), next[p]);
}

TEST_P(KafkaLogTest, ReadReturnsTheAppendedRecordsFromAnyOffset) {
  ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options()));
  auto records = Records(120, "r");
  ASSERT_OK_AND_ASSIGN(auto positions, log->Append(records));
  const int32_t p = positions[0].partition;
  std::vector<std::string> expected;
  for (size_t i = 0; i < records.size(); ++i) {
    if (positions[i].partition == p) expected.push_back(records[i].value);
  }
  ASSERT_GT(expected.size(), 5u);

  std::vector<LogRecord> all;
  while (all.size() < expected.size()) {
    const size_t before = all.size();
    ASSERT_OK(log->Read(p, static_cast<int64_t>(all.size()), 4, &all));
    ASSERT_GT(all.size(), before) << "no progress at " << before;
    ASSERT_LE(all.size() - before, 4u);
  }
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].partition, p);
    EXPECT_EQ(all[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(all[i].value, expected[i]);
  }
  // Back to an earlier offset: the reader seeks.
  std::vector<LogRecord> again;
  ASSERT_OK(log->Read(p, 2, 3, &again));
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].offset, 2);
  EXPECT_EQ(again[0].value, expected[2]);
  // At or past the end: nothing, at once.
  std::vector<LogRecord> none;
  ASSERT_OK(log->Read(p, static_cast<int64_t>(expected.size()), 10, &none));
  ASSERT_OK(log->Read(p, static_cast<int64_t>(expected.size()) + 7, 10, &none));
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(log->Read(4, 0, 1, &none).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(KafkaLogTest, WaitForDataWakesWhenARecordArrives) {
  ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options()));
  const std::string key = "C-wait";
  const int32_t p = PartitionForKey(key, log->partition_count());
  bool woke = false;
  std::thread waiter(
      [&] { woke = log->WaitForData(p, 0, absl::Now() + kPatience); });
  ASSERT_OK(log->Append(std::vector<LogAppend>{{key, "v"}}));
  waiter.join();
  EXPECT_TRUE(woke);
  std::vector<LogRecord> out;
  ASSERT_OK(log->Read(p, 0, 10, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, "v");
  // Nothing at offset 1: the wait ends at its deadline.
  EXPECT_FALSE(log->WaitForData(p, 1, absl::Now() + absl::Milliseconds(200)));
}

// KafkaLog is an EventLog like any other: the embedded log's projector
// (read, wait, read) folds it.
TEST_P(KafkaLogTest, ProjectorFoldsItLikeAnyEventLog) {
  ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options()));
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, ProjectionStore::Open(dir.path(), {}));
  projections::Projector projector(log.get(), store.get());
  ASSERT_OK(projector.Start());
  auto events = testing::SimulatedEvents(20, 30, 3);
  std::vector<int64_t> ends;
  ASSERT_OK(testing::AppendEvents(log.get(), events, 0, events.size(), &ends));
  ASSERT_TRUE(projector.WaitUntilFolded(ends, absl::Now() + kPatience))
      << projector.status();
  projector.Stop();
  testing::TempDir reference;
  testing::ExpectSameStates(
      testing::StoredStates(store.get()),
      testing::EmbeddedStates(events, events.size(), 4, reference.path()));
}

TEST_P(KafkaLogTest, FullLocalQueueSlowsAppendsDownAndDropsNothing) {
  KafkaLogOptions options = Options();
  options.properties.push_back({"queue.buffering.max.messages", "8", "test"});
  ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(options));
  auto records = Records(400, "q");
  ASSERT_OK_AND_ASSIGN(auto positions, log->Append(records));
  EXPECT_EQ(positions.size(), records.size());
  EXPECT_GT(log->producer()->stats().queue_full_waits, 0u);
  EXPECT_EQ(log->producer()->stats().delivered, records.size());
  int64_t total = 0;
  for (int32_t p = 0; p < log->partition_count(); ++p) {
    total += log->EndOffset(p);
  }
  EXPECT_EQ(total, static_cast<int64_t>(records.size()));
}

TEST_P(KafkaLogTest, AppendAfterShutdownIsCancelledAndWaitsReturn) {
  ASSERT_OK_AND_ASSIGN(auto log, KafkaLog::Open(Options()));
  log->Shutdown();
  EXPECT_EQ(log->Append(Records(1, "s")).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_FALSE(log->WaitForData(0, 0, absl::Now() + kPatience));
}

TEST_P(KafkaLogTest, OpenedReadOnlyItReadsButDoesNotAppend) {
  ASSERT_OK_AND_ASSIGN(auto writer, KafkaLog::Open(Options()));
  ASSERT_OK_AND_ASSIGN(auto positions, writer->Append(Records(30, "w")));
  KafkaLogOptions options = Options();
  options.read_only = true;
  ASSERT_OK_AND_ASSIGN(auto reader, KafkaLog::Open(options));
  EXPECT_EQ(reader->partition_count(), 4);
  EXPECT_EQ(reader->producer(), nullptr);
  const LogPosition& last = positions.back();
  EXPECT_EQ(reader->EndOffset(last.partition),
            writer->EndOffset(last.partition));
  std::vector<LogRecord> read;
  ASSERT_OK(reader->Read(last.partition, last.offset, 1, &read));
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].value, "w-29");
  const absl::Status append = reader->Append(Records(1, "x")).status();
  EXPECT_EQ(append.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(append.message(), HasSubstr("opened for reading"));
  reader->Shutdown();
  EXPECT_EQ(reader->Append(Records(1, "x")).status().code(),
            absl::StatusCode::kCancelled);
}

TEST_P(KafkaLogTest, MissingTopicIsNotFoundAndSaysHowToCreateIt) {
  if (GetParam() == KafkaBackend::kMock) {
    GTEST_SKIP() << "the mock cluster creates any topic a client asks about";
  }
  KafkaLogOptions options = Options();
  options.topic = topic_ + "-missing";
  for (const bool read_only : {false, true}) {
    options.read_only = read_only;
    auto log = KafkaLog::Open(options);
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(log.status().message(), HasSubstr(options.topic));
    EXPECT_THAT(log.status().message(), HasSubstr("kehu topics create"));
  }
}

TEST_P(KafkaLogTest, BadPropertyFromTheConfigFileIsNamed) {
  KafkaLogOptions options = Options();
  options.properties.push_back({"linger.ms", "soon", "kafka.properties:4"});
  auto log = KafkaLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), HasSubstr("kafka.properties:4"));
  EXPECT_THAT(log.status().message(), HasSubstr("linger.ms"));
}

INSTANTIATE_TEST_SUITE_P(Backends, KafkaLogTest,
                         ::testing::Values(KafkaBackend::kMock,
                                           KafkaBackend::kReal),
                         testing::KafkaBackendName);

}  // namespace
}  // namespace kehu::infra
