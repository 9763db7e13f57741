// End to end on Kafka: a real Server with `--kafka` semantics, in-process on
// a loopback port, against librdkafka's mock cluster (or the cluster named
// by KEHU_KAFKA_BROKERS): events in through the gRPC ingest API or any
// Kafka client, views out through the gRPC query API — the same views as a
// server on the embedded log.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "infra/app/server.h"
#include "infra/embedded_log.h"
#include "infra/kafka_handles.h"
#include "infra/murmur2.h"
#include "kehu/admin/v1/admin.grpc.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "tests/testing/customer_states.h"
#include "tests/testing/kafka_test_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using events::v1::Event;
using testing::KafkaBackend;
using testing::KafkaTestCluster;

constexpr absl::Duration kPatience = absl::Seconds(90);
constexpr int32_t kPartitions = 6;

class Client {
 public:
  explicit Client(const std::string& address)
      : channel_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        ingest_(ingest::v1::Ingest::NewStub(channel_)),
        query_(query::v1::Query::NewStub(channel_)) {}

  // Appends `events` in batches; returns the offset each partition must
  // reach for all of them to be folded.
  std::vector<int64_t> Append(const std::vector<Event>& events) {
    std::vector<int64_t> ends(kPartitions, 0);
    for (size_t i = 0; i < events.size(); i += 97) {
      ingest::v1::AppendRequest request;
      for (size_t j = i; j < std::min(events.size(), i + 97); ++j) {
        *request.add_events() = events[j];
      }
      grpc::ClientContext context;
      ingest::v1::AppendResponse response;
      grpc::Status s = ingest_->Append(&context, request, &response);
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(response.accepted_count(), request.events_size());
      for (const auto& a : response.accepted()) {
        ends[a.partition()] = std::max(ends[a.partition()], a.offset() + 1);
      }
    }
    return ends;
  }

  // Every customer's view as of a fixed moment, by id.
  std::map<std::string, query::v1::CustomerView> Views(
      const std::set<std::string>& ids) {
    std::map<std::string, query::v1::CustomerView> views;
    for (const std::string& id : ids) {
      grpc::ClientContext context;
      query::v1::GetCustomerRequest request;
      request.set_customer_id(id);
      request.mutable_as_of()->set_seconds(1743465600);  // 2025-04-01
      grpc::Status s = query_->GetCustomer(&context, request, &views[id]);
      EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    }
    return views;
  }

  query::v1::GetProgressResponse Progress() {
    grpc::ClientContext context;
    query::v1::GetProgressResponse response;
    grpc::Status s = query_->GetProgress(&context, {}, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  query::v1::ListDeadLettersResponse DeadLetters() {
    grpc::ClientContext context;
    query::v1::ListDeadLettersResponse response;
    grpc::Status s = query_->ListDeadLetters(&context, {}, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  std::unique_ptr<query::v1::Query::Stub> query_;
};

std::set<std::string> CustomerIds(const std::vector<Event>& events) {
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e.customer_id());
  return ids;
}

void ExpectSameViews(
    const std::map<std::string, query::v1::CustomerView>& actual,
    const std::map<std::string, query::v1::CustomerView>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  int differ = 0;
  for (const auto& [id, view] : expected) {
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    if (!differencer.Compare(actual.at(id), view) && ++differ <= 3) {
      ADD_FAILURE() << "customer " << id << ": " << diff;
    }
  }
  EXPECT_EQ(differ, 0);
}

class KafkaServerTest : public ::testing::TestWithParam<KafkaBackend> {
 protected:
  static void SetUpTestSuite() {
    events_ = new std::vector<Event>(testing::SimulatedEvents(100, 60, 5));
  }
  static void TearDownTestSuite() { delete events_; }

  void SetUp() override {
    KEHU_SKIP_UNLESS_KAFKA_BACKEND(GetParam());
    ASSERT_OK_AND_ASSIGN(cluster_, KafkaTestCluster::Start(GetParam()));
    ASSERT_OK_AND_ASSIGN(topic_, cluster_->CreateTopic("server", kPartitions));
  }

  ServerOptions EmbeddedOptions(const std::string& dir) const {
    ServerOptions options;
    // Views must not depend on when a scheduled population step ran.
    options.fit_interval = absl::ZeroDuration();
    options.data_dir = dir;
    options.listen = "127.0.0.1:0";
    options.partitions = kPartitions;
    options.sync_log = false;
    return options;
  }

  ServerOptions KafkaOptions(const std::string& dir) const {
    ServerOptions options = EmbeddedOptions(dir);
    options.kafka_brokers = cluster_->brokers();
    options.kafka_topic = topic_;
    options.kafka_group = topic_ + "-projector";
    options.kafka_properties = cluster_->properties();
    return options;
  }

  // The views a server on the embedded log serves for `events`.
  std::map<std::string, query::v1::CustomerView> EmbeddedViews(
      const std::vector<Event>& events) {
    testing::TempDir dir;
    Server server(EmbeddedOptions(dir.path()));
    EXPECT_OK(server.Start());
    Client client(server.address());
    EXPECT_TRUE(
        server.WaitUntilFolded(client.Append(events), absl::Now() + kPatience));
    return client.Views(CustomerIds(events));
  }

  static std::vector<Event>* events_;
  std::unique_ptr<KafkaTestCluster> cluster_;
  std::string topic_;
};

std::vector<Event>* KafkaServerTest::events_ = nullptr;

TEST_P(KafkaServerTest, IngestedEventsServeTheSameViewsAsOnTheEmbeddedLog) {
  const auto expected = EmbeddedViews(*events_);
  ASSERT_GT(expected.size(), 50u);

  testing::TempDir dir;
  Server server(KafkaOptions(dir.path()));
  ASSERT_OK(server.Start());
  ASSERT_TRUE(server.on_kafka());
  EXPECT_EQ(server.log()->partition_count(), kPartitions);
  Client client(server.address());
  const std::vector<int64_t> ends = client.Append(*events_);
  ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience))
      << server.status();
  ExpectSameViews(client.Views(CustomerIds(*events_)), expected);

  auto progress = client.Progress();
  EXPECT_EQ(progress.lag(), 0);
  EXPECT_EQ(progress.folded(), static_cast<int64_t>(events_->size()));
  EXPECT_EQ(progress.duplicates(), 0);
  EXPECT_OK(server.status());
  server.Shutdown();

  // A restart continues from the store: nothing refolded, nothing missed.
  Server again(KafkaOptions(dir.path()));
  ASSERT_OK(again.Start());
  Client client2(again.address());
  const std::vector<Event> more(events_->begin(), events_->begin() + 10);
  std::vector<int64_t> ends2 = client2.Append(more);
  for (int32_t p = 0; p < kPartitions; ++p) {
    ends2[p] = std::max(ends2[p], ends[p]);
  }
  ASSERT_TRUE(again.WaitUntilFolded(ends2, absl::Now() + kPatience));
  auto after = client2.Progress();
  EXPECT_EQ(after.folded(), static_cast<int64_t>(events_->size()));
  EXPECT_EQ(after.duplicates(), 10);  // The re-sent events, by event id.
  ExpectSameViews(client2.Views(CustomerIds(*events_)), expected);
}

// Interop: a record any Kafka client writes — key = customer id, value =
// a serialized Event, partitioned with murmur2 like the Java client (kcat:
// -X partitioner=murmur2_random) — folds exactly like one from kehu.
TEST_P(KafkaServerTest, EventsFromAnotherKafkaClientFoldLikeOurs) {
  const auto expected = EmbeddedViews(*events_);
  testing::TempDir dir;
  Server server(KafkaOptions(dir.path()));
  ASSERT_OK(server.Start());

  // A plain librdkafka producer, nothing of kehu's configuration.
  infra::KafkaConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  ASSERT_EQ(
      rd_kafka_conf_set(conf.get(), "bootstrap.servers",
                        cluster_->brokers().c_str(), errstr, sizeof(errstr)),
      RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf.get(), "partitioner", "murmur2_random",
                              errstr, sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  infra::KafkaHandle other(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr)));
  ASSERT_NE(other, nullptr) << errstr;
  conf.release();
  auto produce = [&](const std::string& key, const std::string& value) {
    ASSERT_EQ(
        rd_kafka_producev(
            other.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
            RD_KAFKA_V_KEY(key.data(), key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
        RD_KAFKA_RESP_ERR_NO_ERROR);
  };
  std::vector<int64_t> ends(kPartitions, 0);
  for (const Event& e : *events_) {
    produce(e.customer_id(), e.SerializeAsString());
    ++ends[infra::PartitionForKey(e.customer_id(), kPartitions)];
  }
  // And bytes that are no event: dead-lettered with the reason.
  produce("C-garbage", "this is not an event");
  ++ends[infra::PartitionForKey("C-garbage", kPartitions)];
  ASSERT_EQ(rd_kafka_flush(other.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);

  ASSERT_TRUE(server.WaitUntilFolded(ends, absl::Now() + kPatience))
      << server.status();
  Client client(server.address());
  ExpectSameViews(client.Views(CustomerIds(*events_)), expected);
  auto letters = client.DeadLetters();
  ASSERT_EQ(letters.dead_letters_size(), 1);
  EXPECT_EQ(letters.dead_letters(0).value(), "this is not an event");
  EXPECT_THAT(letters.dead_letters(0).reason(),
              ::testing::HasSubstr("does not parse"));
}

// The business time a server sees after `events` were appended in order:
// the latest occurred_at among each partition's last event.
absl::Time BusinessTimeAfter(const std::vector<Event>& events) {
  std::map<int32_t, absl::Time> last;
  for (const Event& e : events) {
    last[infra::PartitionForKey(e.customer_id(), kPartitions)] =
        absl::FromUnixSeconds(e.occurred_at().seconds());
  }
  absl::Time latest = absl::InfinitePast();
  for (const auto& [partition, at] : last) latest = std::max(latest, at);
  return latest;
}

// On Kafka, as on the embedded log, the store is snapshotted with its
// population when business time passes a period boundary.
TEST_P(KafkaServerTest, PopulationSnapshotsAreTakenOnKafkaToo) {
  testing::TempDir dir;
  ServerOptions options = KafkaOptions(dir.path());
  options.snapshot_poll = absl::ZeroDuration();  // TakeDueSnapshot() below
  options.snapshot_period = SnapshotPeriod::kWeek;
  Server server(options);
  ASSERT_OK(server.Start());
  ASSERT_TRUE(server.group_projector()->WaitForAssignment(
      [](const std::vector<int32_t>& held) {
        return held.size() == static_cast<size_t>(kPartitions);
      },
      absl::Now() + kPatience));
  Client client(server.address());

  const std::vector<Event> first(events_->begin(),
                                 events_->begin() + events_->size() / 2);
  ASSERT_TRUE(
      server.WaitUntilFolded(client.Append(first), absl::Now() + kPatience));
  ASSERT_OK(server.TakeDueSnapshot());  // notes where the log stands
  EXPECT_EQ(server.snapshots()->size(), 0u);

  const std::vector<Event> rest(events_->begin() + events_->size() / 2,
                                events_->end());
  const absl::Time business = BusinessTimeAfter(*events_);
  ASSERT_GE(business,
            NextPeriodStart(SnapshotPeriod::kWeek, BusinessTimeAfter(first)));
  client.Append(rest);
  // TakeDueSnapshot() waits until the store has folded what it saw.
  ASSERT_OK(server.TakeDueSnapshot());
  ASSERT_EQ(server.snapshots()->size(), 1u);
  const absl::Time boundary = PeriodStart(SnapshotPeriod::kWeek, business);
  EXPECT_EQ(*server.snapshots()->latest(), boundary);
  const std::string name = PopulationSnapshots::NameOf(boundary);

  // A complete store of everything folded, measured at the boundary.
  ASSERT_OK_AND_ASSIGN(auto snapshot, infra::ProjectionStore::OpenReadOnly(
                                          dir.path() + "/snapshots/" + name));
  ASSERT_OK_AND_ASSIGN(std::optional<store::v1::PopulationModel> population,
                       snapshot->GetPopulation());
  ASSERT_TRUE(population.has_value());
  EXPECT_EQ(population->as_of_us(), absl::ToUnixMicros(boundary));
  for (const std::string& id : CustomerIds(*events_)) {
    ASSERT_OK_AND_ASSIGN(auto row, snapshot->GetCustomer(id));
    EXPECT_TRUE(row.has_value()) << id;
  }
  std::optional<query::PopulationSnapshot> used =
      server.snapshots()->AtOrBefore(boundary + absl::Hours(30));
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->name, name);

  auto admin = admin::v1::Admin::NewStub(grpc::CreateChannel(
      server.address(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext context;
    admin::v1::ListSnapshotsResponse listed;
    ASSERT_TRUE(admin->ListSnapshots(&context, {}, &listed).ok());
    ASSERT_EQ(listed.snapshots_size(), 1);
    EXPECT_EQ(listed.snapshots(0).name(), name);
  }

  // The weeks before it get theirs from a replay of the partitions this
  // member holds (all of them here), one per call, oldest first.
  const std::vector<absl::Time> missing = BoundariesBetween(
      SnapshotPeriod::kWeek,
      absl::FromUnixSeconds((*events_)[0].occurred_at().seconds()),
      boundary - absl::Nanoseconds(1));
  ASSERT_GE(missing.size(), 2u);
  admin::v1::BackfillSnapshotResponse backfilled;
  {
    grpc::ClientContext context;
    grpc::Status s = admin->BackfillSnapshot(&context, {}, &backfilled);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const std::string oldest = PopulationSnapshots::NameOf(missing[0]);
  EXPECT_EQ(backfilled.snapshot(), oldest);
  EXPECT_EQ(backfilled.remaining(), static_cast<int32_t>(missing.size()) - 1);
  EXPECT_GT(backfilled.folded(), 0);
  EXPECT_LT(backfilled.folded(), static_cast<int64_t>(events_->size()));
  EXPECT_EQ(server.snapshots()->AtOrBefore(missing[0])->name, oldest);

  // The same population as a backfill of the same records on the
  // embedded log: each partition holds them in the same order.
  testing::TempDir embedded_dir;
  {
    infra::EmbeddedLogOptions log_options;
    log_options.partitions = kPartitions;
    ASSERT_OK_AND_ASSIGN(auto log, infra::EmbeddedLog::Open(
                                       embedded_dir.Sub("log"), log_options));
    std::vector<infra::LogAppend> records;
    for (const Event& e : *events_) {
      records.push_back({e.customer_id(), e.SerializeAsString()});
    }
    ASSERT_OK(log->Append(records).status());
    ASSERT_OK_AND_ASSIGN(
        auto snapshots,
        PopulationSnapshots::Open(embedded_dir.path(), options.population));
    projections::ReplayOptions replay;
    replay.threads = 1;
    ASSERT_OK(snapshots
                  ->Backfill(log.get(), missing[0],
                             server.store()->reporting_currency(), replay)
                  .status());
  }
  auto population_of = [](const std::string& dir) {
    auto store = infra::ProjectionStore::OpenReadOnly(dir);
    EXPECT_TRUE(store.ok()) << store.status();
    auto population = (*store)->GetPopulation();
    EXPECT_TRUE(population.ok() && population->has_value()) << dir;
    return population->value_or(store::v1::PopulationModel());
  };
  const store::v1::PopulationModel from_kafka =
      population_of(dir.path() + "/snapshots/" + oldest);
  EXPECT_EQ(from_kafka.as_of_us(), absl::ToUnixMicros(missing[0]));
  EXPECT_GT(from_kafka.purchasing_customers(), 0);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      from_kafka, population_of(embedded_dir.path() + "/snapshots/" + oldest)));

  // A blue-green rebuild is the embedded log's; the refusal says what to
  // do on Kafka instead.
  {
    grpc::ClientContext context;
    admin::v1::RebuildResponse rebuilt;
    grpc::Status refused = admin->Rebuild(&context, {}, &rebuilt);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(refused.error_message(),
                ::testing::HasSubstr("kehu replay --kafka"));
  }

  // The audit trail names the partitions replayed.
  {
    grpc::ClientContext context;
    admin::v1::ListAuditTrailResponse trail;
    ASSERT_TRUE(admin->ListAuditTrail(&context, {}, &trail).ok());
    bool found = false;
    for (const auto& entry : trail.entries()) {
      if (entry.action() != "snapshot-backfill") continue;
      found = true;
      EXPECT_EQ(entry.arguments().at("partitions"), "0,1,2,3,4,5");
      EXPECT_EQ(entry.outcome(), "ok");
    }
    EXPECT_TRUE(found);
  }
}

// With two members in the group, each answers GetProgress for the
// partitions it holds: the other member's are marked and count in no sum,
// so a caller waiting on one member's lag is not kept waiting by the
// partitions it does not fold.
TEST_P(KafkaServerTest, ProgressCountsOnlyThePartitionsTheMemberHolds) {
  testing::TempDir dir_a;
  testing::TempDir dir_b;
  Server a(KafkaOptions(dir_a.path()));
  ASSERT_OK(a.Start());
  ASSERT_TRUE(a.group_projector()->WaitForAssignment(
      [](const std::vector<int32_t>& held) {
        return held.size() == static_cast<size_t>(kPartitions);
      },
      absl::Now() + kPatience));
  const std::vector<int64_t> ends = Client(a.address()).Append(*events_);

  Server b(KafkaOptions(dir_b.path()));
  ASSERT_OK(b.Start());
  {
    // Before the group gives B anything, B says so.
    const query::v1::GetProgressResponse early = Client(b.address()).Progress();
    const bool none_held = std::all_of(
        early.partitions().begin(), early.partitions().end(),
        [](const query::v1::PartitionProgress& p) { return p.not_held(); });
    EXPECT_EQ(early.no_partition_held(), none_held);
    if (none_held) EXPECT_EQ(early.lag(), 0);
  }
  // The cooperative protocol moves partitions in two rebalances: wait
  // until both hold some and together all.
  const absl::Time deadline = absl::Now() + kPatience;
  std::vector<int32_t> held_a;
  std::vector<int32_t> held_b;
  while (absl::Now() < deadline) {
    held_a = a.group_projector()->assignment();
    held_b = b.group_projector()->assignment();
    if (!held_a.empty() && !held_b.empty() &&
        held_a.size() + held_b.size() == static_cast<size_t>(kPartitions)) {
      break;
    }
    b.group_projector()->WaitForAssignment(
        [&](const std::vector<int32_t>& held) { return held != held_b; },
        absl::Now() + absl::Milliseconds(100));
  }
  ASSERT_EQ(held_a.size() + held_b.size(), static_cast<size_t>(kPartitions));
  ASSERT_FALSE(held_b.empty());

  std::vector<int64_t> events_per_partition(kPartitions, 0);
  for (const Event& e : *events_) {
    ++events_per_partition[infra::PartitionForKey(e.customer_id(),
                                                  kPartitions)];
  }
  for (auto [server, held] : {std::pair{&a, held_a}, std::pair{&b, held_b}}) {
    std::vector<int64_t> own(kPartitions, 0);
    int64_t events = 0;
    for (int32_t p : held) {
      own[p] = ends[p];
      events += events_per_partition[p];
    }
    ASSERT_TRUE(server->WaitUntilFolded(own, absl::Now() + kPatience));
    const query::v1::GetProgressResponse progress =
        Client(server->address()).Progress();
    EXPECT_FALSE(progress.no_partition_held());
    EXPECT_EQ(progress.lag(), 0);
    EXPECT_EQ(progress.folded(), events);
    ASSERT_EQ(progress.partitions_size(), kPartitions);
    for (const auto& p : progress.partitions()) {
      const bool held_here =
          std::find(held.begin(), held.end(), p.partition()) != held.end();
      EXPECT_EQ(p.not_held(), !held_here) << p.partition();
      EXPECT_EQ(p.log_end_offset(), ends[p.partition()]);
      if (!held_here) EXPECT_EQ(p.lag(), 0);
    }
  }
}

TEST_P(KafkaServerTest, StartFailsClearlyOnABadKafkaConfigFile) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("kafka.properties")) << "# tuning\nlinger.ms=later\n";
  ServerOptions options = KafkaOptions(dir.Sub("data"));
  options.kafka_config_file = dir.Sub("kafka.properties");
  Server server(options);
  absl::Status s = server.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("kafka.properties:2"));
  EXPECT_THAT(s.message(), ::testing::HasSubstr("linger.ms"));
}

INSTANTIATE_TEST_SUITE_P(Backends, KafkaServerTest,
                         ::testing::Values(KafkaBackend::kMock,
                                           KafkaBackend::kReal),
                         testing::KafkaBackendName);

}  // namespace
}  // namespace kehu::app
