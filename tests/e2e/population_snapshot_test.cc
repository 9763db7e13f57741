// Population snapshots (infra/app/population_snapshots.h): at each period
// boundary of business time (a month by default) the server checkpoints the
// store and measures the population there; GetCustomer as of a past date places
// the customer in the population of the latest snapshot at or before it, and
// says so.
#include <filesystem>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "infra/app/audit_trail.h"
#include "infra/app/population_snapshots.h"
#include "infra/app/server.h"
#include "infra/embedded_log.h"
#include "infra/murmur2.h"
#include "kehu/admin/v1/admin.grpc.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "query/query_service.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using events::v1::Event;
using testing::TempDir;

constexpr absl::Duration kPatience = absl::Seconds(60);
// Day 0 of the event builders: 2025-01-01.
const absl::Time kDay0 = absl::FromUnixSeconds(1735689600);
absl::Time Day(int day) { return kDay0 + absl::Hours(24 * day); }

ServerOptions TestOptions(const std::string& dir) {
  ServerOptions options;
  options.fit_interval = absl::ZeroDuration();
  options.snapshot_poll = absl::ZeroDuration();  // TakeDueSnapshot() below
  options.data_dir = dir;
  options.listen = "127.0.0.1:0";
  options.partitions = 2;
  return options;
}

class Client {
 public:
  explicit Client(const std::string& address)
      : channel_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        ingest_(ingest::v1::Ingest::NewStub(channel_)),
        query_(query::v1::Query::NewStub(channel_)),
        admin_(admin::v1::Admin::NewStub(channel_)) {}

  std::vector<int64_t> Append(const std::vector<Event>& events) {
    ingest::v1::AppendRequest request;
    for (const auto& e : events) *request.add_events() = e;
    grpc::ClientContext context;
    ingest::v1::AppendResponse response;
    EXPECT_TRUE(ingest_->Append(&context, request, &response).ok());
    EXPECT_EQ(response.rejected_size(), 0);
    std::vector<int64_t> ends(2, 0);
    for (const auto& a : response.accepted()) {
      ends[a.partition()] = std::max(ends[a.partition()], a.offset() + 1);
    }
    return ends;
  }

  query::v1::CustomerView Get(const std::string& id, absl::Time as_of) {
    grpc::ClientContext context;
    query::v1::GetCustomerRequest request;
    request.set_customer_id(id);
    request.mutable_as_of()->set_seconds(absl::ToUnixSeconds(as_of));
    query::v1::CustomerView view;
    grpc::Status s = query_->GetCustomer(&context, request, &view);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return view;
  }

  void Fit(absl::Time as_of) {
    grpc::ClientContext context;
    admin::v1::FitRequest request;
    request.mutable_as_of()->set_seconds(absl::ToUnixSeconds(as_of));
    admin::v1::FitResponse response;
    grpc::Status s = admin_->Fit(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  std::unique_ptr<query::v1::Query::Stub> query_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
};

TEST(PopulationSnapshotTest, NextMonthStartCrossesTheYear) {
  constexpr SnapshotPeriod kMonth = SnapshotPeriod::kMonth;
  EXPECT_EQ(NextPeriodStart(kMonth, Day(0)), Day(31));  // 2025-01-01 -> 02-01
  EXPECT_EQ(NextPeriodStart(kMonth, Day(30) + absl::Hours(23)), Day(31));
  // 2025-12-31 -> 2026-01-01
  EXPECT_EQ(NextPeriodStart(kMonth, Day(364)), Day(365));
  EXPECT_EQ(PeriodStart(kMonth, Day(45)), Day(31));
  EXPECT_EQ(PopulationSnapshots::NameOf(Day(31)), "2025-02-01");
}

// 2025-01-01 was a Wednesday; 2025-01-06 the first Monday.
TEST(PopulationSnapshotTest, EachPeriodBeginsWhereTheCalendarSays) {
  const absl::Time t =
      Day(45) + absl::Hours(13);  // 2025-02-15 13:00, a Saturday
  EXPECT_EQ(PeriodStart(SnapshotPeriod::kDay, t), Day(45));
  EXPECT_EQ(NextPeriodStart(SnapshotPeriod::kDay, t), Day(46));
  EXPECT_EQ(PeriodStart(SnapshotPeriod::kWeek, t), Day(40));  // Monday 02-10
  EXPECT_EQ(NextPeriodStart(SnapshotPeriod::kWeek, t), Day(47));
  EXPECT_EQ(PeriodStart(SnapshotPeriod::kWeek, Day(40)), Day(40));
  EXPECT_EQ(PeriodStart(SnapshotPeriod::kWeek, Day(0)), Day(-2));  // 2024-12-30
  EXPECT_EQ(PeriodStart(SnapshotPeriod::kQuarter, t), Day(0));
  EXPECT_EQ(NextPeriodStart(SnapshotPeriod::kQuarter, t), Day(90));  // 04-01
  EXPECT_EQ(PeriodStart(SnapshotPeriod::kQuarter, Day(300)),
            Day(273));  // 10-01
  EXPECT_EQ(NextPeriodStart(SnapshotPeriod::kQuarter, Day(300)), Day(365));
  EXPECT_EQ(PeriodStart(SnapshotPeriod::kYear, t), Day(0));
  EXPECT_EQ(NextPeriodStart(SnapshotPeriod::kYear, t), Day(365));
}

TEST(PopulationSnapshotTest, PeriodNamesParseBack) {
  for (SnapshotPeriod period :
       {SnapshotPeriod::kDay, SnapshotPeriod::kWeek, SnapshotPeriod::kMonth,
        SnapshotPeriod::kQuarter, SnapshotPeriod::kYear}) {
    ASSERT_OK_AND_ASSIGN(SnapshotPeriod parsed,
                         ParseSnapshotPeriod(SnapshotPeriodName(period)));
    EXPECT_EQ(parsed, period);
  }
  absl::StatusOr<SnapshotPeriod> bad = ParseSnapshotPeriod("fortnight");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::HasSubstr("\"fortnight\""));
}

TEST(PopulationSnapshotTest, AsOfReadsUseTheSnapshotOfTheirTime) {
  TempDir dir;
  auto server = std::make_unique<Server>(TestOptions(dir.path()));
  ASSERT_OK(server->Start());
  Client client(server->address());

  // January: two customers buy.
  auto ends = client.Append({
      testing::Registered("e1", "C1", 0, "Ada"),
      testing::Order("e2", "C1", 5, "O1", {{"A", 1, 9000, 4000}}),
      testing::Registered("e3", "C2", 1, "Bo"),
      testing::Order("e4", "C2", 6, "O2", {{"A", 1, 2000, 1500}}),
  });
  ASSERT_TRUE(server->WaitUntilFolded(ends, absl::Now() + kPatience));
  ASSERT_OK(server->TakeDueSnapshot());  // notes where the log stands
  EXPECT_EQ(server->snapshots()->size(), 0u);

  // February begins on the log: the snapshot of 2025-02-01.
  ends = client.Append({
      testing::Registered("e5", "C3", 35, "Cy"),
      testing::Order("e6", "C3", 36, "O3", {{"A", 10, 9000, 1000}}),
  });
  ASSERT_TRUE(server->WaitUntilFolded(ends, absl::Now() + kPatience));
  ASSERT_OK(server->TakeDueSnapshot());
  ASSERT_EQ(server->snapshots()->size(), 1u);
  const std::string snapshot_dir = dir.path() + "/snapshots/2025-02-01";
  ASSERT_TRUE(std::filesystem::exists(snapshot_dir));
  ASSERT_OK(server->TakeDueSnapshot());  // nothing new is due
  EXPECT_EQ(server->snapshots()->size(), 1u);

  // Today's population, measured much later.
  client.Fit(Day(365));

  // Mid-February: the snapshot's population, named.
  query::v1::CustomerView feb = client.Get("C1", Day(45));
  EXPECT_EQ(feb.segments().population_snapshot(), "2025-02-01");
  EXPECT_EQ(feb.segments().population_as_of().seconds(),
            absl::ToUnixSeconds(Day(31)));
  EXPECT_GT(feb.segments().population_log_positions_size(), 0);

  // The same view as the snapshot store itself gives: its population,
  // the customer as of mid-February.
  {
    auto snapshot = infra::ProjectionStore::OpenReadOnly(snapshot_dir);
    ASSERT_OK(snapshot.status());
    query::QueryServiceOptions options;
    options.clock = [] { return absl::Now(); };
    query::QueryService from_snapshot(snapshot->get(), server->log(), options);
    query::v1::GetCustomerRequest request;
    request.set_customer_id("C1");
    request.mutable_as_of()->set_seconds(absl::ToUnixSeconds(Day(45)));
    query::v1::CustomerView expected;
    ASSERT_TRUE(from_snapshot.ViewCustomer(request, &expected).ok());
    query::v1::CustomerView actual = feb;
    actual.mutable_segments()->clear_population_snapshot();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(expected,
                                                                    actual))
        << expected.DebugString() << "\nvs\n"
        << actual.DebugString();
  }

  // After the fit's date: the fit. Before any snapshot: the fit too, the
  // only population there is, and the view says which it used.
  query::v1::CustomerView later = client.Get("C1", Day(400));
  EXPECT_EQ(later.segments().population_snapshot(), "");
  EXPECT_EQ(later.segments().population_as_of().seconds(),
            absl::ToUnixSeconds(Day(365)));
  query::v1::CustomerView january = client.Get("C1", Day(20));
  EXPECT_EQ(january.segments().population_snapshot(), "");

  auto audit = AuditTrail(dir.path()).Newest(10);
  ASSERT_OK(audit.status());
  bool recorded = false;
  for (const auto& e : *audit) {
    recorded |= e.action() == "snapshot" &&
                e.arguments().at("boundary") == "2025-02-01" &&
                e.outcome() == "ok";
  }
  EXPECT_TRUE(recorded);

  // A restart reads the snapshots back.
  server->Shutdown();
  server = std::make_unique<Server>(TestOptions(dir.path()));
  ASSERT_OK(server->Start());
  Client again(server->address());
  EXPECT_EQ(again.Get("C1", Day(45)).segments().population_snapshot(),
            "2025-02-01");
}

// With --snapshot-keep N the schedule removes the oldest snapshots after
// each new one, and records it; as-of reads before the oldest left fall
// back to the store's population, and say so.
TEST(PopulationSnapshotTest, OnlyTheNewestSnapshotsAreKeptWhenAsked) {
  TempDir dir;
  ServerOptions options = TestOptions(dir.path());
  options.snapshot_keep = 2;
  Server server(options);
  ASSERT_OK(server.Start());
  Client client(server.address());
  auto ends = client.Append({
      testing::Registered("e1", "C1", 0, "Ada"),
      testing::Order("e2", "C1", 5, "O1", {{"A", 1, 9000, 4000}}),
  });
  ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience));
  ASSERT_OK(server.TakeDueSnapshot());  // notes where the log stands
  // One order in each of February, March and April: three boundaries.
  int day = 35;
  for (const char* id : {"e3", "e4", "e5"}) {
    ends = client.Append({testing::Order(id, "C1", day, std::string("O") + id,
                                         {{"A", 1, 1000, 500}})});
    ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience));
    ASSERT_OK(server.TakeDueSnapshot());
    day += 30;
  }
  EXPECT_EQ(server.snapshots()->size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/snapshots/2025-02-01"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/snapshots/2025-03-01"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/snapshots/2025-04-01"));
  EXPECT_FALSE(server.snapshots()->AtOrBefore(Day(45)).has_value());
  EXPECT_EQ(server.snapshots()->AtOrBefore(Day(70))->name, "2025-03-01");

  auto audit = AuditTrail(dir.path()).Newest(20);
  ASSERT_OK(audit.status());
  int removals = 0;
  for (const auto& e : *audit) {
    if (e.action() != "snapshot-removed") continue;
    ++removals;
    EXPECT_EQ(e.outcome(), "ok");
    EXPECT_EQ(e.arguments().at("keep"), "2");
    EXPECT_EQ(e.detail(), "removed snapshots/2025-02-01");
  }
  EXPECT_EQ(removals, 1);

  // Keeping all (0) removes nothing.
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> removed,
                       server.snapshots()->RemoveOldest(0));
  EXPECT_TRUE(removed.empty());
  EXPECT_EQ(server.snapshots()->size(), 2u);
}

// When the log crosses several boundaries at once, the schedule snapshots
// the last and records the others as passed over, for a backfill.
TEST(PopulationSnapshotTest, BoundariesCrossedAtOnceAreRecordedAsPassedOver) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());
  auto ends = client.Append({testing::Registered("e1", "C1", 0, "Ada")});
  ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience));
  ASSERT_OK(server.TakeDueSnapshot());  // notes where the log stands
  // From January to mid-April at once.
  ends = client.Append(
      {testing::Order("e2", "C1", 100, "O1", {{"A", 1, 1000, 500}})});
  ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience));
  ASSERT_OK(server.TakeDueSnapshot());
  EXPECT_EQ(server.snapshots()->size(), 1u);
  EXPECT_EQ(server.snapshots()->latest(), Day(90));  // 2025-04-01

  auto audit = AuditTrail(dir.path()).Newest(5);
  ASSERT_OK(audit.status());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ((*audit)[0].action(), "snapshot");
  EXPECT_THAT((*audit)[0].detail(),
              ::testing::HasSubstr("passed over without a snapshot: "
                                   "2025-02-01, 2025-03-01 (`kehu admin "
                                   "backfill-snapshots` makes them)"));
}

// The boundaries passed over are backfilled through the admin API while
// the server keeps serving: one per call, oldest first, each audited.
TEST(PopulationSnapshotTest, PassedOverBoundariesAreBackfilledWhileServing) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());
  auto ends = client.Append({
      testing::Registered("e1", "C1", 0, "Ada"),
      testing::Order("e2", "C1", 5, "O1", {{"A", 1, 9000, 4000}}),
  });
  ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience));
  ASSERT_OK(server.TakeDueSnapshot());  // notes where the log stands
  ends = client.Append({
      testing::Order("e3", "C2", 40, "O2", {{"A", 1, 2000, 1500}}),
      testing::Order("e4", "C3", 100, "O3", {{"A", 1, 1000, 500}}),
  });
  ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience));
  ASSERT_OK(server.TakeDueSnapshot());  // 2025-04-01; passes over two
  ASSERT_EQ(server.snapshots()->size(), 1u);

  auto admin = admin::v1::Admin::NewStub(grpc::CreateChannel(
      server.address(), grpc::InsecureChannelCredentials()));
  auto backfill = [&](const std::string& period,
                      admin::v1::BackfillSnapshotResponse* response) {
    grpc::ClientContext context;
    admin::v1::BackfillSnapshotRequest request;
    request.set_period(period);
    return admin->BackfillSnapshot(&context, request, response);
  };
  admin::v1::BackfillSnapshotResponse first;
  ASSERT_TRUE(backfill("", &first).ok());
  EXPECT_EQ(first.snapshot(), "2025-02-01");
  EXPECT_EQ(first.records(), 4);
  EXPECT_EQ(first.folded(), 2);  // e1, e2: before February
  EXPECT_EQ(first.purchasing_customers(), 1);
  EXPECT_EQ(first.remaining(), 1);
  admin::v1::BackfillSnapshotResponse second;
  ASSERT_TRUE(backfill("month", &second).ok());
  EXPECT_EQ(second.snapshot(), "2025-03-01");
  EXPECT_EQ(second.purchasing_customers(), 2);
  EXPECT_EQ(second.remaining(), 0);
  admin::v1::BackfillSnapshotResponse none;
  ASSERT_TRUE(backfill("", &none).ok());
  EXPECT_EQ(none.snapshot(), "");

  // Listed, oldest first, with what each measured.
  {
    grpc::ClientContext context;
    admin::v1::ListSnapshotsResponse listed;
    ASSERT_TRUE(admin->ListSnapshots(&context, {}, &listed).ok());
    ASSERT_EQ(listed.snapshots_size(), 3);
    EXPECT_EQ(listed.snapshots(0).name(), "2025-02-01");
    EXPECT_EQ(listed.snapshots(0).measured().seconds(),
              absl::ToUnixSeconds(Day(31)));
    EXPECT_EQ(listed.snapshots(0).purchasing_customers(), 1);
    EXPECT_EQ(listed.snapshots(1).name(), "2025-03-01");
    EXPECT_EQ(listed.snapshots(2).name(), "2025-04-01");
  }
  // As-of reads use them at once; the audit trail names who made them.
  EXPECT_EQ(client.Get("C1", Day(45)).segments().population_snapshot(),
            "2025-02-01");
  auto audit = AuditTrail(dir.path()).Newest(3);
  ASSERT_OK(audit.status());
  EXPECT_EQ((*audit)[0].action(), "snapshot-backfill");
  EXPECT_EQ((*audit)[0].arguments().at("boundary"), "2025-03-01");
  EXPECT_THAT((*audit)[0].caller(), ::testing::StartsWith("peer "));

  admin::v1::BackfillSnapshotResponse bad;
  grpc::Status refused = backfill("fortnight", &bad);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), ::testing::StartsWith("period: "));
  // An event dated decades early: thousands of days to replay, refused.
  client.Append({testing::Registered("e5", "C4", -20000, "Old")});
  refused = backfill("day", &bad);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(),
              ::testing::StartsWith("from, to: 20097 day boundaries without "
                                    "a snapshot between 1970-04-01 and "));
}

// Stopping the server cuts a snapshot's population step short: nothing of
// the snapshot is left behind, and a later Take() of the same boundary
// works.
TEST(PopulationSnapshotTest, ACancelledSnapshotLeavesNothing) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());
  auto ends = client.Append({
      testing::Registered("e1", "C1", 0, "Ada"),
      testing::Order("e2", "C1", 5, "O1", {{"A", 1, 9000, 4000}}),
      testing::Order("e3", "C1", 33, "O2", {{"A", 1, 4000, 1000}}),
  });
  ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience));

  int polls = 0;
  absl::Status cancelled = server.snapshots()->Take(
      server.store(), Day(31), [&polls] { return ++polls > 0; });
  EXPECT_TRUE(absl::IsCancelled(cancelled)) << cancelled;
  EXPECT_GT(polls, 0);
  EXPECT_EQ(server.snapshots()->size(), 0u);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/snapshots"));

  ASSERT_OK(server.snapshots()->Take(server.store(), Day(31),
                                     [] { return false; }));
  EXPECT_EQ(server.snapshots()->size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/snapshots/2025-02-01"));
}

// A snapshot taken by a kehu of an older store layout (schema version)
// still gives its population: as-of reads need only its population row,
// and the server starts beside it.
TEST(PopulationSnapshotTest, ASnapshotOfAnOlderLayoutStillGivesItsPopulation) {
  TempDir dir;
  store::v1::PopulationModel measured;
  measured.set_as_of_us(absl::ToUnixMicros(Day(31)));
  measured.set_purchasing_customers(7);
  {
    ASSERT_OK_AND_ASSIGN(
        auto snapshot,
        infra::ProjectionStore::Open(dir.path() + "/snapshots/2025-02-01", {}));
    ASSERT_OK(snapshot->PutPopulation(measured));
    ASSERT_TRUE(snapshot->db()
                    ->Put(rocksdb::WriteOptions(),
                          snapshot->family(infra::schema::Family::kMeta),
                          infra::schema::kMetaSchemaVersion, "1")
                    .ok());
  }

  ASSERT_OK_AND_ASSIGN(auto snapshots,
                       PopulationSnapshots::Open(dir.path(), {}));
  std::optional<query::PopulationSnapshot> found =
      snapshots->AtOrBefore(Day(45));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "2025-02-01");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      *found->population, measured));
  EXPECT_FALSE(snapshots->AtOrBefore(Day(20)).has_value());

  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  EXPECT_EQ(server.snapshots()->size(), 1u);
}

// Boundaries the schedule never saw — history appended while no server ran
// — are backfilled by a replay: the events that occurred before each
// boundary, late ones included, with the population measured there.
// Backfill calls ask for the span again and again: it is read once, then
// only what was appended since; per partition, as a Kafka member asks.
TEST(PopulationSnapshotTest, BusinessTimeSpansTakeInWhatWasAppendedSince) {
  TempDir dir;
  infra::EmbeddedLogOptions log_options;
  log_options.partitions = 2;
  log_options.sync = false;
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<infra::EmbeddedLog> log,
      infra::EmbeddedLog::Open(dir.path() + "/log", log_options));
  auto append = [&](const Event& e) {
    return log->Append({{e.customer_id(), e.SerializeAsString()}});
  };
  // Two customers of different partitions.
  std::string other = "C2";
  while (infra::PartitionForKey(other, 2) == infra::PartitionForKey("C1", 2)) {
    other += "x";
  }
  ASSERT_OK_AND_ASSIGN(auto c1, append(testing::Registered("e1", "C1", 10)));
  ASSERT_OK(append(testing::Registered("e2", other, 20)).status());

  BusinessTimeSpans spans;
  ASSERT_OK_AND_ASSIGN(std::optional<BusinessTimeSpan> span, spans.Read(*log));
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->first, Day(10));
  EXPECT_EQ(span->last, Day(20));
  // Appended late, occurred earliest; and a record that does not parse.
  ASSERT_OK(append(testing::Registered("e3", other, 3)).status());
  ASSERT_OK(log->Append({{"C1", "not an event"}}).status());
  ASSERT_OK_AND_ASSIGN(span, spans.Read(*log));
  EXPECT_EQ(span->first, Day(3));
  EXPECT_EQ(span->last, Day(20));
  // One partition alone.
  ASSERT_OK_AND_ASSIGN(span,
                       spans.Read(*log, std::vector<int32_t>{c1[0].partition}));
  EXPECT_EQ(span->first, Day(10));
  EXPECT_EQ(span->last, Day(10));
  // What a fresh read of the whole log gives.
  ASSERT_OK_AND_ASSIGN(span, ReadBusinessTimeSpan(*log));
  EXPECT_EQ(span->first, Day(3));
  EXPECT_EQ(span->last, Day(20));
}

TEST(PopulationSnapshotTest, BackfillSnapshotsTheBoundariesAHistoryCrossed) {
  TempDir dir;
  infra::EmbeddedLogOptions log_options;
  log_options.partitions = 2;
  log_options.sync = false;
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<infra::EmbeddedLog> log,
      infra::EmbeddedLog::Open(dir.path() + "/log", log_options));
  std::vector<infra::LogAppend> appends;
  for (const Event& e : {
           // January: C1 buys. February: C2. March: C3 registers only.
           testing::Registered("e1", "C1", 0, "Ada"),
           testing::Order("e2", "C1", 5, "O1", {{"A", 1, 9000, 4000}}),
           testing::Registered("e3", "C2", 30, "Bo"),
           // At 1 February 00:00 exactly: February's, not January's.
           testing::Order("e4", "C2", 31, "O2", {{"A", 1, 2000, 1500}}),
           testing::Registered("e5", "C3", 65, "Cy"),
           // Appended last, occurred in January: the ERP sent it late.
           testing::Order("e6", "C4", 20, "O3", {{"A", 1, 500, 100}}),
       }) {
    appends.push_back({e.customer_id(), e.SerializeAsString()});
  }
  ASSERT_OK(log->Append(appends).status());

  ASSERT_OK_AND_ASSIGN(std::optional<BusinessTimeSpan> span,
                       ReadBusinessTimeSpan(*log));
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->first, Day(0));
  EXPECT_EQ(span->last, Day(65));
  const std::vector<absl::Time> boundaries =
      BoundariesBetween(SnapshotPeriod::kMonth, span->first, span->last);
  ASSERT_THAT(boundaries, ::testing::ElementsAre(Day(31), Day(59)));

  ASSERT_OK_AND_ASSIGN(auto snapshots, PopulationSnapshots::Open(dir.path()));
  // Cancelled: nothing is left behind.
  projections::ReplayOptions cancelled;
  cancelled.progress_interval = absl::ZeroDuration();
  cancelled.cancelled = [] { return true; };
  EXPECT_TRUE(absl::IsCancelled(
      snapshots->Backfill(log.get(), Day(31), "EUR", cancelled).status()));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/snapshots"));

  for (absl::Time boundary : boundaries) {
    ASSERT_OK_AND_ASSIGN(projections::ReplayResult result,
                         snapshots->Backfill(log.get(), boundary, "EUR", {}));
    EXPECT_EQ(result.records, 6);
  }
  EXPECT_TRUE(absl::IsAlreadyExists(
      snapshots->Backfill(log.get(), Day(31), "EUR", {}).status()));

  // 1 February: C1, and C4 whose order arrived late; C2's order at the
  // boundary's very instant is February's, so after it.
  std::optional<query::PopulationSnapshot> feb = snapshots->AtOrBefore(Day(45));
  ASSERT_TRUE(feb.has_value());
  EXPECT_EQ(feb->name, "2025-02-01");
  EXPECT_EQ(feb->population->as_of_us(), absl::ToUnixMicros(Day(31)));
  EXPECT_EQ(feb->population->purchasing_customers(), 2);
  std::optional<query::PopulationSnapshot> mar = snapshots->AtOrBefore(Day(70));
  ASSERT_TRUE(mar.has_value());
  EXPECT_EQ(mar->name, "2025-03-01");
  EXPECT_EQ(mar->population->purchasing_customers(), 3);
  // The log positions say it was measured on the whole log as it is now.
  int64_t positions = 0;
  for (int64_t p : mar->population->log_positions()) positions += p;
  EXPECT_EQ(positions, 6);

  // Each keeps its population alone; the replay's store is gone.
  {
    ASSERT_OK_AND_ASSIGN(auto store, infra::ProjectionStore::OpenReadOnly(
                                         dir.path() + "/snapshots/2025-02-01"));
    ASSERT_OK_AND_ASSIGN(auto c1, store->GetCustomer("C1"));
    EXPECT_FALSE(c1.has_value());
    ASSERT_OK_AND_ASSIGN(auto population, store->GetPopulation());
    ASSERT_TRUE(population.has_value());
    EXPECT_EQ(population->purchasing_customers(), 2);
  }
  std::vector<std::string> entries;
  for (const auto& e :
       std::filesystem::directory_iterator(dir.path() + "/snapshots")) {
    entries.push_back(e.path().filename().string());
  }
  EXPECT_THAT(entries,
              ::testing::UnorderedElementsAre("2025-02-01", "2025-03-01"));
  // A server started on the directory reads them back.
  log.reset();
  ASSERT_OK_AND_ASSIGN(auto listed, PopulationSnapshots::List(dir.path()));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "2025-02-01");
  EXPECT_EQ(listed[1].name, "2025-03-01");
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  EXPECT_EQ(server.snapshots()->size(), 2u);
}

}  // namespace
}  // namespace kehu::app
