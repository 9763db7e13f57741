// Replay rebuilds the store a live projector keeps, row for row: the
// digest of a replay equals the digest of a live store that folded the
// same prefix of the log, however either batched its commits.
#include "projections/replay.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/embedded_log.h"
#include "infra/murmur2.h"
#include "infra/status_macros.h"
#include "infra/store_digest.h"
#include "projections/partition_projector.h"
#include "projections/population.h"
#include "projections/projector.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/customer_states.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::projections {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

constexpr int32_t kPartitions = 4;
// 2026-01-01, after the simulated year: the reference time of the fits.
const absl::Time kAsOf = absl::FromUnixSeconds(1767225600);

std::unique_ptr<infra::EmbeddedLog> OpenLog(const std::string& dir) {
  infra::EmbeddedLogOptions options;
  options.partitions = kPartitions;
  options.sync = false;
  auto log = infra::EmbeddedLog::Open(dir, options);
  EXPECT_OK(log);
  return log.ok() ? std::move(*log) : nullptr;
}

std::unique_ptr<infra::ProjectionStore> OpenStore(const std::string& dir) {
  auto store = infra::ProjectionStore::Open(dir, {});
  EXPECT_OK(store);
  return store.ok() ? std::move(*store) : nullptr;
}

// A log holding the simulated events of `customers` customers.
std::unique_ptr<infra::EmbeddedLog> SimulatedLog(const std::string& dir,
                                                 int64_t customers,
                                                 uint64_t seed) {
  auto log = OpenLog(dir);
  const auto events = testing::SimulatedEvents(customers, 365, seed);
  std::vector<int64_t> ends;
  EXPECT_OK(
      testing::AppendEvents(log.get(), events, 0, events.size(), &ends, 500));
  return log;
}

std::string Digest(const infra::ProjectionStore& store) {
  auto digest = infra::DigestStore(store);
  EXPECT_OK(digest);
  return digest.ok() ? digest->hex : "";
}

ReplayOptions Options() {
  ReplayOptions options;
  options.batch_records = 10000;
  return options;
}

// Folds offsets [0, until) of every partition as the live projector does,
// in batches of `batch` records, the partitions taking turns; continues
// from what `store` has folded already.
void FoldLive(infra::EventLog* log, infra::ProjectionStore* store, size_t batch,
              int64_t until = std::numeric_limits<int64_t>::max()) {
  std::vector<std::unique_ptr<PartitionProjector>> projectors;
  for (int32_t p = 0; p < log->partition_count(); ++p) {
    auto projector = PartitionProjector::Create(
        store, p, PartitionProjector::kDefaultCacheCustomers,
        log->partition_count());
    ASSERT_OK(projector);
    projectors.push_back(std::move(*projector));
  }
  bool more = true;
  while (more) {
    more = false;
    for (auto& projector : projectors) {
      const int32_t p = projector->partition();
      const int64_t stop = std::min(until, log->EndOffset(p));
      if (projector->next_offset() >= stop) continue;
      std::vector<infra::LogRecord> records;
      ASSERT_OK(log->Read(
          p, projector->next_offset(),
          std::min<int64_t>(batch, stop - projector->next_offset()), &records));
      ASSERT_OK(projector->Process(records));
      more = true;
    }
  }
}

TEST(ReplayTest, TwoReplaysOfTheSameLogGiveTheSameDigestAndAnotherLogAnother) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 300, 7);
  auto first = OpenStore(dir.Sub("first"));
  auto second = OpenStore(dir.Sub("second"));
  ReplayOptions one = Options();
  ASSERT_OK_AND_ASSIGN(ReplayResult a, Replay(log.get(), first.get(), one));
  // Other batches, one thread, partitions read three at a time: the order
  // of commits must not show.
  ReplayOptions other = Options();
  other.batch_records = 333;
  other.threads = 1;
  other.read_threads = 3;
  ASSERT_OK_AND_ASSIGN(ReplayResult b, Replay(log.get(), second.get(), other));
  EXPECT_GT(a.records, 3000);
  EXPECT_EQ(a.records, a.folded);
  EXPECT_EQ(a.stop_offsets, b.stop_offsets);
  EXPECT_EQ(Digest(*first), Digest(*second));

  auto other_log = SimulatedLog(dir.Sub("other-log"), 300, 8);
  auto third = OpenStore(dir.Sub("third"));
  ASSERT_OK(Replay(other_log.get(), third.get(), Options()));
  EXPECT_NE(Digest(*third), Digest(*first));
}

TEST(ReplayTest, ALiveStoreAndAReplayOfTheSameLogHaveTheSameDigest) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 300, 7);
  // The live projector's threads, in batches of 7 records.
  auto live = OpenStore(dir.Sub("live"));
  {
    ProjectorOptions small;
    small.max_batch_events = 7;
    Projector projector(log.get(), live.get(), small);
    ASSERT_OK(projector.Start());
    ASSERT_TRUE(projector.WaitUntilCaughtUp(absl::Now() + absl::Minutes(5)));
    ASSERT_OK(projector.status());
  }
  auto replayed = OpenStore(dir.Sub("replayed"));
  ASSERT_OK(Replay(log.get(), replayed.get(), Options()));
  EXPECT_EQ(Digest(*live), Digest(*replayed));

  // A fit at the same reference time on both.
  ASSERT_OK(RunPopulationStep(live.get(), kAsOf));
  auto fitted = OpenStore(dir.Sub("fitted"));
  ReplayOptions fit = Options();
  fit.fit_as_of = kAsOf;
  ASSERT_OK_AND_ASSIGN(ReplayResult result,
                       Replay(log.get(), fitted.get(), fit));
  ASSERT_TRUE(result.fit.has_value());
  EXPECT_EQ(result.fit->indexed_customers, 300);
  EXPECT_EQ(Digest(*live), Digest(*fitted));
  EXPECT_NE(Digest(*fitted), Digest(*replayed));
}

// Duplicates (a re-sent slice, and an event re-sent with the same id but
// another payload), records that are dead-lettered, and a payload this
// version does not know: the replay folds, skips and keeps exactly what
// the live projector does, whatever its threads and batches.
TEST(ReplayTest, DuplicatesDeadLettersAndUnknownPayloadsEndAsInALiveStore) {
  TempDir dir;
  auto log = OpenLog(dir.Sub("log"));
  const auto events = testing::SimulatedEvents(200, 365, 5);
  ASSERT_GT(events.size(), 500u);
  std::vector<int64_t> ends;
  ASSERT_OK(testing::AppendEvents(log.get(), events, 0, events.size(), &ends));
  ASSERT_OK(testing::AppendEvents(log.get(), events, 40, 90, &ends));
  events::v1::Event changed = events[7];
  changed.mutable_profile_updated()->set_name("Not Folded");
  const events::v1::Event stranger = testing::MakeEvent("x-1", "C000003", 3);
  const std::string unknown =
      testing::MakeEvent("u-1", "C000004", 4).SerializeAsString() +
      std::string("\x9a\x06\x02hi", 5);  // field 99: a newer payload
  ASSERT_OK(log->Append({{changed.customer_id(), changed.SerializeAsString()},
                         {"C000002", "not an event"},
                         {"C000005", stranger.SerializeAsString()},
                         {"C000004", unknown}}));

  auto live = OpenStore(dir.Sub("live"));
  FoldLive(log.get(), live.get(), 7);
  for (int threads : {1, 3}) {
    auto replayed = OpenStore(dir.Sub(absl::StrCat("replayed-", threads)));
    ReplayOptions options = Options();
    options.threads = threads;
    options.batch_records = 50;
    ASSERT_OK_AND_ASSIGN(ReplayResult result,
                         Replay(log.get(), replayed.get(), options));
    EXPECT_EQ(result.duplicates, 51) << threads;
    EXPECT_EQ(result.dead_lettered, 2) << threads;
    EXPECT_EQ(result.unknown_skipped, 1) << threads;
    EXPECT_EQ(result.folded, static_cast<int64_t>(events.size())) << threads;
    EXPECT_EQ(Digest(*live), Digest(*replayed)) << threads;
  }
}

// An EventLog that hands every call to another; the logs below change
// some of them.
class ForwardingLog : public infra::EventLog {
 public:
  explicit ForwardingLog(infra::EventLog* log) : log_(log) {}
  int32_t partition_count() const override { return log_->partition_count(); }
  absl::StatusOr<std::vector<infra::LogPosition>> Append(
      absl::Span<const infra::LogAppend> records) override {
    return log_->Append(records);
  }
  absl::Status Read(int32_t partition, int64_t offset, size_t max_records,
                    std::vector<infra::LogRecord>* out) override {
    return log_->Read(partition, offset, max_records, out);
  }
  int64_t EndOffset(int32_t partition) const override {
    return log_->EndOffset(partition);
  }
  bool WaitForData(int32_t partition, int64_t offset,
                   absl::Time deadline) override {
    return log_->WaitForData(partition, offset, deadline);
  }
  void Shutdown() override { log_->Shutdown(); }

 protected:
  infra::EventLog* const log_;
};

// A log whose partitions 0 and 1 trade places: their records carry the
// other's number, so murmur2 puts each of their keys elsewhere, as when a
// client partitioned unlike Kafka's Java client.
class SwappedLog final : public ForwardingLog {
 public:
  using ForwardingLog::ForwardingLog;
  absl::Status Read(int32_t partition, int64_t offset, size_t max_records,
                    std::vector<infra::LogRecord>* out) override {
    const size_t first = out->size();
    KEHU_RETURN_IF_ERROR(log_->Read(Swap(partition), offset, max_records, out));
    for (size_t i = first; i < out->size(); ++i) {
      (*out)[i].partition = partition;
    }
    return absl::OkStatus();
  }
  int64_t EndOffset(int32_t partition) const override {
    return log_->EndOffset(Swap(partition));
  }
  bool WaitForData(int32_t partition, int64_t offset,
                   absl::Time deadline) override {
    return log_->WaitForData(Swap(partition), offset, deadline);
  }

 private:
  static int32_t Swap(int32_t partition) {
    return partition < 2 ? 1 - partition : partition;
  }
};

// Records no customer can own: in a partition murmur2 does not give their
// key, with a key longer than any customer id, with an empty key, or
// whose customer has no valid event. The replay judges them as the live
// projector does: dead letters, and no customer row for them.
TEST(ReplayTest, RecordsNoCustomerCanOwnEndAsInALiveStore) {
  TempDir dir;
  auto embedded = OpenLog(dir.Sub("log"));
  const auto events = testing::SimulatedEvents(60, 365, 11);
  std::vector<int64_t> ends;
  ASSERT_OK(
      testing::AppendEvents(embedded.get(), events, 0, events.size(), &ends));
  const std::string long_key(300, 'k');
  const events::v1::Event valid = testing::MakeEvent("e-1", "C000001", 3);
  // A customer of an unswapped partition, with no valid event.
  std::string lost = "C900000";
  while (infra::PartitionForKey(lost, kPartitions) < 2) lost.back()++;
  ASSERT_OK_AND_ASSIGN(const std::vector<infra::LogPosition> appended,
                       embedded->Append({{long_key, "not an event"},
                                         {long_key, valid.SerializeAsString()},
                                         {"", valid.SerializeAsString()},
                                         {lost, "not an event"}}));
  SwappedLog log(embedded.get());
  // Every record of the swapped partitions, and the others appended.
  int64_t dead = log.EndOffset(0) + log.EndOffset(1);
  for (const infra::LogPosition& position : appended) {
    if (position.partition >= 2) ++dead;
  }

  auto live = OpenStore(dir.Sub("live"));
  FoldLive(&log, live.get(), 13);
  for (int threads : {1, 3}) {
    auto replayed = OpenStore(dir.Sub(absl::StrCat("replayed-", threads)));
    ReplayOptions options = Options();
    options.threads = threads;
    options.batch_records = 20;
    ASSERT_OK_AND_ASSIGN(ReplayResult result,
                         Replay(&log, replayed.get(), options));
    EXPECT_EQ(result.dead_lettered, dead) << threads;
    EXPECT_GT(result.folded, 0) << threads;
    EXPECT_EQ(result.folded + result.dead_lettered,
              static_cast<int64_t>(events.size()) + 4)
        << threads;
    EXPECT_EQ(Digest(*live), Digest(*replayed)) << threads;
  }
}

// Customer ids of different lengths ("C7", "C42", "C123"): the timeline
// orders customers by (id length, id), the customers family by id, so a
// range of the one is not a range of the other. The replay's table files
// of state rows then overlap, and the store must still hold every row
// once, as a live store does; the replay's scratch files are gone after.
TEST(ReplayTest, CustomerIdsOfDifferentLengthsEndAsInALiveStore) {
  TempDir dir;
  auto log = OpenLog(dir.Sub("log"));
  std::vector<events::v1::Event> events =
      testing::SimulatedEvents(300, 365, 11);
  for (events::v1::Event& event : events) {
    // "C000042" -> "C42"
    const std::string& id = event.customer_id();
    const size_t digits = id.find_first_not_of('0', 1);
    ASSERT_NE(digits, std::string::npos) << id;
    event.set_customer_id(absl::StrCat("C", id.substr(digits)));
  }
  std::vector<int64_t> ends;
  ASSERT_OK(
      testing::AppendEvents(log.get(), events, 0, events.size(), &ends, 500));

  auto live = OpenStore(dir.Sub("live"));
  FoldLive(log.get(), live.get(), 100);
  for (int threads : {1, 3}) {
    const std::string store_dir = dir.Sub(absl::StrCat("replayed-", threads));
    auto replayed = OpenStore(store_dir);
    ReplayOptions options = Options();
    options.threads = threads;
    ASSERT_OK_AND_ASSIGN(ReplayResult result,
                         Replay(log.get(), replayed.get(), options));
    EXPECT_EQ(result.folded, static_cast<int64_t>(events.size())) << threads;
    EXPECT_EQ(Digest(*live), Digest(*replayed)) << threads;
    EXPECT_FALSE(std::filesystem::exists(store_dir + "/replay-staged"))
        << threads;
    EXPECT_FALSE(std::filesystem::exists(store_dir + "/replay-ordered"))
        << threads;
  }
}

// An embedded log whose reads of one partition fail from an offset on.
class FailingLog final : public ForwardingLog {
 public:
  FailingLog(infra::EventLog* log, int32_t partition, int64_t from)
      : ForwardingLog(log), partition_(partition), from_(from) {}
  absl::Status Read(int32_t partition, int64_t offset, size_t max_records,
                    std::vector<infra::LogRecord>* out) override {
    if (partition == partition_ && offset >= from_) {
      return absl::UnavailableError("disk went away");
    }
    return log_->Read(partition, offset, max_records, out);
  }

 private:
  const int32_t partition_;
  const int64_t from_;
};

TEST(ReplayTest, AStoreWhoseReplayFailedIsNeverTakenForACompleteOne) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 100, 7);
  FailingLog failing(log.get(), 2, 200);
  {
    auto store = OpenStore(dir.Sub("store"));
    ReplayOptions options = Options();
    options.batch_records = 100;
    auto result = Replay(&failing, store.get(), options);
    EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  }
  auto reopened = infra::ProjectionStore::Open(dir.Sub("store"), {});
  EXPECT_TRUE(absl::IsFailedPrecondition(reopened.status()))
      << reopened.status();
  EXPECT_THAT(std::string(reopened.status().message()),
              HasSubstr("replay did not finish"));
  auto digest = infra::ProjectionStore::OpenReadOnly(dir.Sub("store"));
  EXPECT_TRUE(absl::IsFailedPrecondition(digest.status())) << digest.status();
}

// A server that stops during a rebuild cancels its replay: it ends between
// batches, CANCELLED, and its store is marked unfinished like a failed one.
TEST(ReplayTest, ACancelledReplayEndsAndItsStoreIsNeverTakenForComplete) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 100, 7);
  {
    auto store = OpenStore(dir.Sub("store"));
    ReplayOptions options = Options();
    options.batch_records = 100;
    int polls = 0;
    options.cancelled = [&polls] { return ++polls > 0; };
    auto result = Replay(log.get(), store.get(), options);
    EXPECT_TRUE(absl::IsCancelled(result.status())) << result.status();
    EXPECT_GE(polls, 1);
  }
  auto reopened = infra::ProjectionStore::Open(dir.Sub("store"), {});
  EXPECT_TRUE(absl::IsFailedPrecondition(reopened.status()))
      << reopened.status();
}

TEST(ReplayTest, ReplayEmbeddedLogLeavesAStoreThatReopensWithTheSameDigest) {
  TempDir dir;
  {
    auto log = SimulatedLog(dir.Sub("data/log"), 200, 7);
    auto reference = OpenStore(dir.Sub("reference"));
    ASSERT_OK(Replay(log.get(), reference.get(), Options()));
  }
  ASSERT_OK(ReplayEmbeddedLog(dir.Sub("data/log"), dir.Sub("new/store"), {},
                              Options()));
  // Opened again: every row came through table files, and the mark of a
  // replay in progress is gone.
  auto replayed = OpenStore(dir.Sub("new/store"));
  ASSERT_NE(replayed, nullptr);
  auto reference = OpenStore(dir.Sub("reference"));
  EXPECT_EQ(Digest(*replayed), Digest(*reference));
}

// The population step of a replay evaluates standings on its threads, a
// chunk each: however the customers are split, the store is the live
// one's, fitted on one thread.
TEST(ReplayTest, AFitOnSeveralThreadsGivesTheDigestOfALiveFit) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 300, 7);
  auto live = OpenStore(dir.Sub("live"));
  FoldLive(log.get(), live.get(), 11);
  ASSERT_OK(RunPopulationStep(live.get(), kAsOf));
  for (const int threads : {1, 3}) {
    SCOPED_TRACE(threads);
    auto replayed = OpenStore(dir.Sub(absl::StrCat("replayed-", threads)));
    ReplayOptions fit = Options();
    fit.threads = threads;
    fit.fit_as_of = kAsOf;
    fit.population.chunk_customers = 7;
    ASSERT_OK_AND_ASSIGN(ReplayResult result,
                         Replay(log.get(), replayed.get(), fit));
    ASSERT_TRUE(result.fit.has_value());
    EXPECT_EQ(result.fit->indexed_customers, 300);
    EXPECT_EQ(result.fit->population.median_current_value_minor(),
              live->population()->median_current_value_minor());
    EXPECT_EQ(Digest(*live), Digest(*replayed));
  }
}

TEST(ReplayTest, ALiveStoreFittedSeveralTimesHasTheStandingsOfItsLastFit) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 300, 7);
  auto live = OpenStore(dir.Sub("live"));
  FoldLive(log.get(), live.get(), 11, log->EndOffset(0) / 2);
  ASSERT_OK(RunPopulationStep(live.get(), kAsOf - absl::Hours(24 * 180)));
  FoldLive(log.get(), live.get(), 11);
  ASSERT_OK(RunPopulationStep(live.get(), kAsOf - absl::Hours(24 * 30)));
  ASSERT_OK(RunPopulationStep(live.get(), kAsOf));

  auto replayed = OpenStore(dir.Sub("replayed"));
  ReplayOptions fit = Options();
  fit.fit_as_of = kAsOf;
  ASSERT_OK(Replay(log.get(), replayed.get(), fit));
  EXPECT_EQ(Digest(*live), Digest(*replayed));
}

TEST(ReplayTest, UntilOffsetGivesTheDigestOfALiveStoreThatFoldedThatPrefix) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 300, 7);
  const int64_t until = log->EndOffset(0) / 3;
  ASSERT_GT(until, 100);
  auto live = OpenStore(dir.Sub("live"));
  FoldLive(log.get(), live.get(), 5, until);

  auto replayed = OpenStore(dir.Sub("replayed"));
  ReplayOptions options = Options();
  options.until_offset = until;
  ASSERT_OK_AND_ASSIGN(ReplayResult result,
                       Replay(log.get(), replayed.get(), options));
  EXPECT_EQ(result.stop_offsets, std::vector<int64_t>(kPartitions, until));
  EXPECT_EQ(result.records, until * kPartitions);
  EXPECT_EQ(Digest(*live), Digest(*replayed));

  auto whole = OpenStore(dir.Sub("whole"));
  ASSERT_OK(Replay(log.get(), whole.get(), Options()));
  EXPECT_NE(Digest(*whole), Digest(*replayed));
}

TEST(ReplayTest, PartitionsGiveTheDigestOfALogHoldingOnlyThosePartitions) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 300, 7);
  // The same records of partitions 0 and 2 alone, at the same offsets.
  auto only = OpenLog(dir.Sub("only"));
  const auto events = testing::SimulatedEvents(300, 365, 7);
  std::vector<events::v1::Event> kept;
  for (const auto& e : events) {
    const int32_t p = infra::PartitionForKey(e.customer_id(), kPartitions);
    if (p == 0 || p == 2) kept.push_back(e);
  }
  std::vector<int64_t> ends;
  ASSERT_OK(
      testing::AppendEvents(only.get(), kept, 0, kept.size(), &ends, 500));

  auto subset = OpenStore(dir.Sub("subset"));
  ReplayOptions options = Options();
  options.partitions = std::vector<int32_t>{2, 0};
  options.fit_as_of = kAsOf;
  ASSERT_OK_AND_ASSIGN(ReplayResult result,
                       Replay(log.get(), subset.get(), options));
  EXPECT_EQ(result.stop_offsets,
            (std::vector<int64_t>{log->EndOffset(0), 0, log->EndOffset(2), 0}));
  EXPECT_EQ(result.records, static_cast<int64_t>(kept.size()));
  auto alone = OpenStore(dir.Sub("alone"));
  ReplayOptions all = Options();
  all.fit_as_of = kAsOf;
  ASSERT_OK(Replay(only.get(), alone.get(), all));
  EXPECT_EQ(Digest(*subset), Digest(*alone));

  auto refused = OpenStore(dir.Sub("refused"));
  options.partitions = std::vector<int32_t>{kPartitions};
  const absl::Status out_of_range =
      Replay(log.get(), refused.get(), options).status();
  EXPECT_EQ(out_of_range.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out_of_range.message(), HasSubstr("partition 4 out of range"));
}

TEST(ReplayTest, UntilFoldsExactlyTheEventsThatOccurredByThenWhereverTheyAre) {
  TempDir dir;
  auto log = OpenLog(dir.Sub("log"));
  const auto events = testing::SimulatedEvents(100, 365, 3);
  std::vector<int64_t> ends;
  ASSERT_OK(testing::AppendEvents(log.get(), events, 0, events.size(), &ends));
  // Appended last, occurred on day 10: a late event the cut keeps.
  auto late = testing::MakeEvent("late-1", "C000001", 10);
  late.mutable_profile_updated()->set_name("Late Name");
  ASSERT_OK(log->Append({{late.customer_id(), late.SerializeAsString()}}));
  // Garbage has no business time: dead-lettered, cut or not.
  ASSERT_OK(log->Append({{"C000002", "not an event"}}));

  const absl::Time until =
      absl::FromUnixSeconds(1735689600) + absl::Hours(24 * 100);  // 2025-04-11
  int64_t occurred_by_then = 0;
  for (const auto& e : events) {
    if (absl::FromUnixSeconds(e.occurred_at().seconds()) +
            absl::Nanoseconds(e.occurred_at().nanos()) <=
        until) {
      ++occurred_by_then;
    }
  }
  ASSERT_GT(occurred_by_then, 0);
  ASSERT_LT(occurred_by_then, static_cast<int64_t>(events.size()));

  auto store = OpenStore(dir.Sub("store"));
  ReplayOptions options = Options();
  options.until = until;
  ASSERT_OK_AND_ASSIGN(ReplayResult result,
                       Replay(log.get(), store.get(), options));
  EXPECT_EQ(result.records, static_cast<int64_t>(events.size()) + 2);
  EXPECT_EQ(result.folded, occurred_by_then + 1);
  EXPECT_EQ(result.after_cut,
            static_cast<int64_t>(events.size()) - occurred_by_then);
  EXPECT_EQ(result.dead_lettered, 1);

  ASSERT_OK_AND_ASSIGN(auto c1, store->GetCustomer("C000001"));
  ASSERT_TRUE(c1.has_value());
  EXPECT_EQ(c1->name(), "Late Name");
  for (const auto& [id, bytes] : testing::StoredStates(store.get())) {
    store::v1::CustomerState state;
    ASSERT_TRUE(state.ParseFromString(bytes));
    EXPECT_LE(state.last_interaction_at_us(), absl::ToUnixMicros(until)) << id;
  }
}

TEST(ReplayTest, ReportsProgressUpToTheTotal) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 50, 7);
  auto store = OpenStore(dir.Sub("store"));
  std::vector<ReplayProgress> seen;
  ReplayOptions options = Options();
  options.batch_records = 100;
  options.on_progress = [&](const ReplayProgress& p) { seen.push_back(p); };
  ASSERT_OK_AND_ASSIGN(ReplayResult result,
                       Replay(log.get(), store.get(), options));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().records_done, result.records);
  EXPECT_EQ(seen.back().records_total, result.records);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_LE(seen[i - 1].records_done, seen[i].records_done);
  }
  // The stages, in order; the last report names the last one.
  const std::vector<std::string_view> stages = {
      "reading the log", "folding by customer", "writing the ordered indexes"};
  size_t at = 0;
  for (const ReplayProgress& p : seen) {
    while (at < stages.size() && stages[at] != p.stage) ++at;
    ASSERT_LT(at, stages.size()) << "out of order: " << p.stage;
  }
  EXPECT_EQ(seen.back().stage, "writing the ordered indexes");

  // With a fit, a last report says the population step has begun.
  auto fitted = OpenStore(dir.Sub("fitted"));
  seen.clear();
  options.fit_as_of = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  ASSERT_OK(Replay(log.get(), fitted.get(), options).status());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().stage, "measuring the population");
  EXPECT_EQ(seen.back().records_done, result.records);
}

TEST(ReplayTest, RefusesAStoreThatHoldsFoldedEvents) {
  TempDir dir;
  auto log = SimulatedLog(dir.Sub("log"), 20, 7);
  auto store = OpenStore(dir.Sub("store"));
  ASSERT_OK(Replay(log.get(), store.get(), Options()));
  absl::StatusOr<ReplayResult> again =
      Replay(log.get(), store.get(), Options());
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("fresh store"));
}

TEST(ReplayTest, ReplayEmbeddedLogChecksItsDirectories) {
  TempDir dir;
  {
    auto log = SimulatedLog(dir.Sub("data/log"), 20, 7);
    // Held by a running process: refused, saying why.
    auto held = ReplayEmbeddedLog(dir.Sub("data/log"), dir.Sub("new/store"), {},
                                  Options());
    EXPECT_TRUE(absl::IsFailedPrecondition(held.status())) << held.status();
    EXPECT_THAT(std::string(held.status().message()), HasSubstr("kehu serve"));
  }
  auto missing = ReplayEmbeddedLog(dir.Sub("nowhere"), dir.Sub("new/store"), {},
                                   Options());
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();

  ASSERT_OK_AND_ASSIGN(ReplayResult result,
                       ReplayEmbeddedLog(dir.Sub("data/log"),
                                         dir.Sub("new/store"), {}, Options()));
  EXPECT_GT(result.folded, 0);
  auto again = ReplayEmbeddedLog(dir.Sub("data/log"), dir.Sub("new/store"), {},
                                 Options());
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("not empty"));
}

}  // namespace
}  // namespace kehu::projections
