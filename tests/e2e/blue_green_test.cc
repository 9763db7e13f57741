// End to end: the blue-green rebuild of a running server
// (infra/app/serving_stores.h) — rebuild a standby from the log while
// serving, switch to it and back under continuous queries, drop it — and
// the audit trail the admin calls leave.
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "infra/app/audit_trail.h"
#include "infra/app/server.h"
#include "infra/store_digest.h"
#include "infra/store_schema.h"
#include "kehu/admin/v1/admin.grpc.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "producers/simulator.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using admin::v1::StoreStatus;
using events::v1::Event;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr absl::Duration kPatience = absl::Seconds(120);
// 2026-01-01: after the simulated year, the reference time of every fit.
constexpr int64_t kFitAsOfSeconds = 1767225600;

ServerOptions TestOptions(const std::string& dir) {
  ServerOptions options;
  options.fit_interval = absl::ZeroDuration();
  options.data_dir = dir;
  options.listen = "127.0.0.1:0";
  options.partitions = 4;
  options.projector.max_batch_events = 200;
  // The audit trail checked below holds no snapshots.
  options.snapshot_poll = absl::ZeroDuration();
  return options;
}

std::vector<Event> SimulatedEvents(int customers) {
  producers::SimulatorOptions sim;
  sim.customers = customers;
  sim.days = 365;
  sim.seed = 11;
  std::vector<Event> events;
  EXPECT_OK(producers::Simulator(sim).Run([&](const Event& e) {
    events.push_back(e);
    return absl::OkStatus();
  }));
  return events;
}

class Client {
 public:
  explicit Client(const std::string& address)
      : channel_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        ingest_(ingest::v1::Ingest::NewStub(channel_)),
        query_(query::v1::Query::NewStub(channel_)),
        admin_(admin::v1::Admin::NewStub(channel_)) {}

  // Appends in batches; returns the end offset each partition must reach.
  std::vector<int64_t> Append(const std::vector<Event>& events,
                              int partitions) {
    std::vector<int64_t> ends(partitions, 0);
    for (size_t i = 0; i < events.size(); i += 500) {
      ingest::v1::AppendRequest request;
      for (size_t j = i; j < std::min(events.size(), i + 500); ++j) {
        *request.add_events() = events[j];
      }
      grpc::ClientContext context;
      ingest::v1::AppendResponse response;
      grpc::Status s = ingest_->Append(&context, request, &response);
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(response.rejected_size(), 0);
      for (const auto& a : response.accepted()) {
        ends[a.partition()] = std::max(ends[a.partition()], a.offset() + 1);
      }
    }
    return ends;
  }

  grpc::Status Get(const std::string& id, query::v1::CustomerView* view) {
    grpc::ClientContext context;
    query::v1::GetCustomerRequest request;
    request.set_customer_id(id);
    request.mutable_as_of()->set_seconds(kFitAsOfSeconds);
    return query_->GetCustomer(&context, request, view);
  }

  grpc::Status ListPage(const std::string& token,
                        query::v1::ListCustomersResponse* page) {
    grpc::ClientContext context;
    query::v1::ListCustomersRequest request;
    request.set_page_size(50);
    request.set_page_token(token);
    return query_->ListCustomers(&context, request, page);
  }

  grpc::Status Fit() {
    grpc::ClientContext context;
    admin::v1::FitRequest request;
    request.mutable_as_of()->set_seconds(kFitAsOfSeconds);
    admin::v1::FitResponse response;
    return admin_->Fit(&context, request, &response);
  }

  grpc::Status Rebuild(const std::string& currency = "") {
    grpc::ClientContext context;
    admin::v1::RebuildRequest request;
    request.set_currency(currency);
    admin::v1::RebuildResponse response;
    return admin_->Rebuild(&context, request, &response);
  }

  grpc::Status Switch(admin::v1::SwitchResponse* response) {
    grpc::ClientContext context;
    return admin_->Switch(&context, {}, response);
  }

  grpc::Status Drop() {
    grpc::ClientContext context;
    admin::v1::DropStandbyResponse response;
    return admin_->DropStandby(&context, {}, &response);
  }

  std::vector<StoreStatus> Stores() {
    grpc::ClientContext context;
    admin::v1::ListStoresResponse response;
    grpc::Status s = admin_->ListStores(&context, {}, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {response.stores().begin(), response.stores().end()};
  }

  grpc::Status Audit(int limit, admin::v1::ListAuditTrailResponse* response) {
    grpc::ClientContext context;
    admin::v1::ListAuditTrailRequest request;
    request.set_limit(limit);
    return admin_->ListAuditTrail(&context, request, response);
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  std::unique_ptr<query::v1::Query::Stub> query_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
};

// Queries without pause on threads of their own — GetCustomer of known
// customers, and ListCustomers paged to the end — and counts what failed.
class QueryLoad {
 public:
  QueryLoad(const std::string& address, std::vector<std::string> ids)
      : ids_(std::move(ids)) {
    threads_.emplace_back([this, address] { GetLoop(address); });
    threads_.emplace_back([this, address] { ListLoop(address); });
  }
  ~QueryLoad() { Stop(); }

  // Blocks until `n` more queries have been answered (or failed) than
  // when called, so that each step of a test runs under load.
  void AwaitQueries(int64_t n) {
    absl::MutexLock lock(&mu_);
    const int64_t target = answered_ + n;
    auto reached = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return answered_ >= target;
    };
    mu_.AwaitWithDeadline(absl::Condition(&reached), absl::Now() + kPatience);
  }

  // Stops after each thread's current query (a listing: after its last
  // page, so that no listing stays open).
  void Stop() {
    stopping_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  int64_t answered() {
    absl::MutexLock lock(&mu_);
    return answered_;
  }
  std::vector<std::string> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  void Count(const grpc::Status& s, const std::string& what) {
    absl::MutexLock lock(&mu_);
    ++answered_;
    if (!s.ok()) failures_.push_back(what + ": " + s.error_message());
  }

  void GetLoop(const std::string& address) {
    Client client(address);
    for (size_t i = 0; !stopping_; ++i) {
      const std::string& id = ids_[i % ids_.size()];
      query::v1::CustomerView view;
      grpc::Status s = client.Get(id, &view);
      if (s.ok() && view.customer_id() != id) {
        s = grpc::Status(grpc::StatusCode::INTERNAL, "another customer");
      }
      Count(s, "GetCustomer " + id);
    }
  }

  void ListLoop(const std::string& address) {
    Client client(address);
    while (!stopping_) {
      std::string token;
      std::set<std::string> seen;
      do {
        query::v1::ListCustomersResponse page;
        grpc::Status s = client.ListPage(token, &page);
        for (const auto& c : page.customers()) {
          if (!seen.insert(c.customer_id()).second) {
            s = grpc::Status(grpc::StatusCode::INTERNAL,
                             "listed twice: " + c.customer_id());
          }
        }
        Count(s, "ListCustomers");
        if (!s.ok()) break;
        token = page.next_page_token();
      } while (!token.empty());
    }
  }

  const std::vector<std::string> ids_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  int64_t answered_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
};

// Every customer row of `store`, by key.
std::map<std::string, std::string> CustomerRows(infra::ProjectionStore& store) {
  std::map<std::string, std::string> rows;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
      {}, store.family(infra::schema::Family::kCustomers)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rows[it->key().ToString()] = it->value().ToString();
  }
  EXPECT_TRUE(it->status().ok());
  return rows;
}

StoreStatus Role(const std::vector<StoreStatus>& stores,
                 StoreStatus::Role role) {
  for (const auto& s : stores) {
    if (s.role() == role) return s;
  }
  return {};
}

TEST(BlueGreenTest, SwitchingStoresUnderContinuousQueriesFailsNoQuery) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());
  const int partitions = server.log()->partition_count();

  const std::vector<Event> events = SimulatedEvents(150);
  ASSERT_TRUE(server.WaitUntilFolded(client.Append(events, partitions),
                                     absl::Now() + kPatience));
  ASSERT_TRUE(client.Fit().ok());
  std::set<std::string> distinct;
  for (const Event& e : events) distinct.insert(e.customer_id());
  const std::vector<std::string> ids(distinct.begin(), distinct.end());

  QueryLoad load(server.address(), ids);
  load.AwaitQueries(50);

  // Rebuild while serving; events keep arriving meanwhile.
  ASSERT_TRUE(client.Rebuild().ok());
  client.Append({testing::Registered("late-1", "L1", 300, "Late")}, partitions);
  ASSERT_TRUE(server.stores()->WaitForRebuild(absl::Now() + kPatience));
  StoreStatus standby = Role(client.Stores(), StoreStatus::STANDBY);
  ASSERT_EQ(standby.name(), "store-2");
  ASSERT_EQ(standby.state(), StoreStatus::FOLLOWING) << standby.error();
  EXPECT_EQ(standby.population_as_of().seconds(), kFitAsOfSeconds);
  load.AwaitQueries(50);

  // Acknowledged before the switch: the new store must have it at once.
  client.Append({testing::Registered("late-2", "L2", 301, "Later")},
                partitions);
  std::shared_ptr<infra::ProjectionStore> before =
      server.stores()->active_store();
  admin::v1::SwitchResponse switched;
  grpc::Status s = client.Switch(&switched);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(switched.active(), "store-2");
  EXPECT_EQ(switched.standby(), "store");
  query::v1::CustomerView late;
  ASSERT_TRUE(client.Get("L2", &late).ok());
  EXPECT_EQ(late.profile().name(), "Later");
  load.AwaitQueries(50);

  // The rebuilt store folded the same log: the same customer rows.
  ASSERT_TRUE(server.projector()->WaitUntilCaughtUp(absl::Now() + kPatience));
  std::shared_ptr<infra::ProjectionStore> after =
      server.stores()->active_store();
  ASSERT_NE(before, after);
  auto old_rows = CustomerRows(*before);
  auto new_rows = CustomerRows(*after);
  EXPECT_EQ(new_rows.size(), ids.size() + 2);
  EXPECT_TRUE(old_rows == new_rows);

  // A second switch undoes the first.
  ASSERT_TRUE(client.Switch(&switched).ok());
  EXPECT_EQ(switched.active(), "store");
  load.AwaitQueries(50);
  ASSERT_TRUE(client.Drop().ok());
  load.AwaitQueries(50);
  load.Stop();

  EXPECT_THAT(load.failures(), ::testing::IsEmpty());
  EXPECT_GE(load.answered(), 250);
  EXPECT_EQ(client.Stores().size(), 1u);
  before.reset();
  after.reset();
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/store-2"));

  admin::v1::ListAuditTrailResponse audit;
  ASSERT_TRUE(client.Audit(10, &audit).ok());
  std::vector<std::string> actions;
  for (const auto& e : audit.entries()) actions.push_back(e.action());
  EXPECT_THAT(actions, ::testing::ElementsAre("drop-standby", "switch",
                                              "switch", "rebuild-finished",
                                              "rebuild", "fit", "serve-start"));
  EXPECT_THAT(audit.entries(1).detail(),
              HasSubstr("active store, standby store-2"));
}

TEST(BlueGreenTest, TheSwitchedStoreStaysActiveAfterARestart) {
  TempDir dir;
  std::string digest;
  {
    Server server(TestOptions(dir.path()));
    ASSERT_OK(server.Start());
    Client client(server.address());
    ASSERT_TRUE(server.WaitUntilFolded(
        client.Append(SimulatedEvents(40), server.log()->partition_count()),
        absl::Now() + kPatience));
    ASSERT_TRUE(client.Rebuild().ok());
    ASSERT_TRUE(server.stores()->WaitForRebuild(absl::Now() + kPatience));
    admin::v1::SwitchResponse switched;
    ASSERT_TRUE(client.Switch(&switched).ok());
    auto d = infra::DigestStore(*server.store());
    ASSERT_OK(d.status());
    digest = d->hex;
    server.Shutdown();
  }
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());
  auto stores = client.Stores();
  EXPECT_EQ(Role(stores, StoreStatus::ACTIVE).name(), "store-2");
  EXPECT_EQ(Role(stores, StoreStatus::STANDBY).name(), "store");
  EXPECT_EQ(Role(stores, StoreStatus::STANDBY).state(), StoreStatus::FOLLOWING);
  auto d = infra::DigestStore(*server.store());
  ASSERT_OK(d.status());
  EXPECT_EQ(d->hex, digest);
  EXPECT_EQ(ActiveStoreName(dir.path()).value_or(""), "store-2");
}

TEST(BlueGreenTest, RefusalsSayWhyAndAreRecorded) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());

  admin::v1::SwitchResponse switched;
  grpc::Status s = client.Switch(&switched);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("no standby"));
  s = client.Drop();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  s = client.Rebuild("euro");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("currency"));

  ASSERT_TRUE(client.Rebuild().ok());
  s = client.Rebuild();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("store-2 is the standby already"));
  ASSERT_TRUE(server.stores()->WaitForRebuild(absl::Now() + kPatience));

  admin::v1::ListAuditTrailResponse audit;
  s = client.Audit(20000, &audit);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("limit"));
  ASSERT_TRUE(client.Audit(0, &audit).ok());
  std::vector<std::string> outcomes;
  for (const auto& e : audit.entries()) {
    if (e.action() != "rebuild-finished") {
      outcomes.push_back(e.action() + ": " + e.outcome());
    }
  }
  EXPECT_THAT(outcomes,
              ::testing::ElementsAre(
                  HasSubstr("rebuild: store store-2 is the standby already"),
                  "rebuild: ok", HasSubstr("drop-standby: there is no standby"),
                  HasSubstr("switch: there is no standby"), "serve-start: ok"));
}

}  // namespace
}  // namespace kehu::app
