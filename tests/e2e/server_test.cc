// End to end: a real Server in-process on a loopback port 0, events in
// through the gRPC ingest API, views out through the gRPC query API.
#include "infra/app/server.h"

#include <map>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "producers/simulator.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using events::v1::Event;
using namespace kehu::testing;  // NOLINT: event builders

constexpr absl::Duration kPatience = absl::Seconds(60);

ServerOptions TestOptions(const std::string& dir) {
  ServerOptions options;
  // Views must not depend on when a scheduled population step ran.
  options.fit_interval = absl::ZeroDuration();
  options.data_dir = dir;
  options.listen = "127.0.0.1:0";
  options.partitions = 4;
  return options;
}

// A gRPC client of one running server.
class Client {
 public:
  explicit Client(const std::string& address)
      : channel_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        ingest_(ingest::v1::Ingest::NewStub(channel_)),
        query_(query::v1::Query::NewStub(channel_)) {}

  ingest::v1::AppendResponse Append(const std::vector<Event>& events) {
    ingest::v1::AppendRequest request;
    for (const auto& e : events) *request.add_events() = e;
    grpc::ClientContext context;
    ingest::v1::AppendResponse response;
    grpc::Status s = ingest_->Append(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  // Asks at day 30 of the builders' calendar (2025-01-31) unless told
  // otherwise: the test events' time, not the wall clock's.
  grpc::Status Get(const std::string& id, query::v1::CustomerView* view,
                   int64_t as_of_seconds = 1735689600 + 30 * 86400) {
    grpc::ClientContext context;
    query::v1::GetCustomerRequest request;
    request.set_customer_id(id);
    request.mutable_as_of()->set_seconds(as_of_seconds);
    return query_->GetCustomer(&context, request, view);
  }

  query::v1::GetProgressResponse Progress() {
    grpc::ClientContext context;
    query::v1::GetProgressResponse response;
    grpc::Status s = query_->GetProgress(&context, {}, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  query::v1::Query::Stub* query() { return query_.get(); }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  std::unique_ptr<query::v1::Query::Stub> query_;
};

// The offsets each partition must reach for `response`'s events to be folded.
std::vector<int64_t> EndsOf(const ingest::v1::AppendResponse& response,
                            int partitions) {
  std::vector<int64_t> ends(partitions, 0);
  for (const auto& a : response.accepted()) {
    ends[a.partition()] = std::max(ends[a.partition()], a.offset() + 1);
  }
  return ends;
}

TEST(ServerTest, IngestedEventsAreServedAsCustomerViews) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  ASSERT_GT(server.port(), 0);
  Client client(server.address());

  auto response = client.Append({
      Registered("e1", "C1", 0, "Ada"),
      Order("e2", "C1", 1, "O1", {{"A", 2, 1500, 1000}}),
      Order("e3", "C1", 9, "O2", {{"B", 1, 4000, 1000}}),
      Registered("e4", "C2", 0, "Bo"),
      Order("e5", "C2", 2, "O3", {{"A", 1, 1500, 1000}}),
      Complaint("e6", "C2", 3, "K1"),
  });
  ASSERT_EQ(response.accepted_count(), 6);
  ASSERT_TRUE(server.projector()->WaitUntilFolded(
      EndsOf(response, server.log()->partition_count()),
      absl::Now() + kPatience));

  query::v1::CustomerView ada;
  ASSERT_TRUE(client.Get("C1", &ada).ok());
  EXPECT_EQ(ada.profile().name(), "Ada");
  EXPECT_EQ(ada.orders().purchase_count(), 2);
  ASSERT_EQ(ada.orders().totals_size(), 1);
  EXPECT_EQ(ada.orders().totals(0).revenue_minor(), 7000);
  EXPECT_EQ(ada.orders().totals(0).margin_minor(), 4000);
  EXPECT_EQ(ada.lifecycle().stage(), query::v1::LIFECYCLE_STAGE_REPEAT);
  EXPECT_EQ(ada.position().event_id(), "e3");

  query::v1::CustomerView bo;
  ASSERT_TRUE(client.Get("C2", &bo).ok());
  EXPECT_EQ(bo.lifecycle().stage(), query::v1::LIFECYCLE_STAGE_NEW);
  EXPECT_EQ(bo.complaints().open_count(), 1);

  grpc::ClientContext context;
  query::v1::TopCustomersRequest top_request;
  top_request.set_metric(query::v1::METRIC_MARGIN);
  top_request.set_limit(10);
  query::v1::TopCustomersResponse top;
  ASSERT_TRUE(client.query()->TopCustomers(&context, top_request, &top).ok());
  ASSERT_EQ(top.customers_size(), 2);
  EXPECT_EQ(top.customers(0).customer().customer_id(), "C1");
  EXPECT_EQ(top.customers(0).value(), 4000);
  EXPECT_EQ(top.customers(1).customer().customer_id(), "C2");

  auto progress = client.Progress();
  EXPECT_EQ(progress.lag(), 0);
  EXPECT_EQ(progress.folded(), 6);
}

TEST(ServerTest, UnknownCustomerIsNotFoundAndEmptyIdIsInvalid) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());
  query::v1::CustomerView view;
  EXPECT_EQ(client.Get("nobody", &view).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status empty = client.Get("", &view);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(empty.error_message(), ::testing::HasSubstr("customer_id"));
}

TEST(ServerTest, InvalidEventsAreRejectedByIndexAndTheValidOnesFold) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());

  auto bad_quantity = Order("e2", "C1", 1, "O1", {{"A", -1, 100}});
  auto no_customer = Call("e3", "", 1);
  auto response = client.Append({Registered("e1", "C1", 0), bad_quantity,
                                 no_customer, Call("e4", "C1", 2)});
  EXPECT_EQ(response.accepted_count(), 2);
  ASSERT_EQ(response.rejected_size(), 2);
  EXPECT_EQ(response.rejected(0).index(), 1);
  EXPECT_EQ(response.rejected(0).field(), "order_placed.lines[0].quantity");
  EXPECT_EQ(response.rejected(1).index(), 2);
  EXPECT_EQ(response.rejected(1).field(), "customer_id");

  ASSERT_TRUE(server.projector()->WaitUntilFolded(
      EndsOf(response, server.log()->partition_count()),
      absl::Now() + kPatience));
  query::v1::CustomerView view;
  ASSERT_TRUE(client.Get("C1", &view).ok());
  EXPECT_EQ(view.counts().registrations(), 1);
  EXPECT_EQ(view.counts().calls(), 1);
  EXPECT_EQ(view.counts().orders(), 0);
}

// Any Kafka client could write bytes that are no event, or an event that
// breaks a rule, straight to the log: the projector keeps them as dead
// letters and goes on.
TEST(ServerTest, MalformedEventOnTheLogIsDeadLetteredAndLaterEventsFold) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());

  auto negative = Order("e2", "C1", 1, "O1", {{"A", -3, 100}});
  ASSERT_OK(server.log()->Append(std::vector<infra::LogAppend>{
      {"C1", Registered("e1", "C1", 0).SerializeAsString()},
      {"C1", "this is not an event"},
      {"C1", negative.SerializeAsString()}}));
  auto response = client.Append({Order("e3", "C1", 2, "O2", {{"A", 1, 100}})});
  ASSERT_EQ(response.accepted_count(), 1);
  ASSERT_TRUE(server.projector()->WaitUntilFolded(
      EndsOf(response, server.log()->partition_count()),
      absl::Now() + kPatience));

  query::v1::CustomerView view;
  ASSERT_TRUE(client.Get("C1", &view).ok());
  EXPECT_EQ(view.profile().name(), "Ada");
  EXPECT_EQ(view.orders().purchase_count(), 1);
  EXPECT_EQ(view.position().event_id(), "e3");

  grpc::ClientContext context;
  query::v1::ListDeadLettersResponse letters;
  ASSERT_TRUE(client.query()->ListDeadLetters(&context, {}, &letters).ok());
  ASSERT_EQ(letters.dead_letters_size(), 2);
  EXPECT_EQ(letters.dead_letters(0).value(), "this is not an event");
  EXPECT_THAT(letters.dead_letters(0).reason(),
              ::testing::HasSubstr("does not parse"));
  EXPECT_EQ(letters.dead_letters(1).field(), "order_placed.lines[0].quantity");
  EXPECT_EQ(letters.dead_letters(1).offset(),
            letters.dead_letters(0).offset() + 1);
  EXPECT_EQ(client.Progress().dead_lettered(), 2);
}

// Waits for the next completion on `cq`; true when the operation succeeded.
bool Complete(grpc::CompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  return cq->Next(&tag, &ok) && ok;
}

grpc::ByteBuffer Bytes(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string s;
  for (const auto& slice : slices) {
    s.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return s;
}

// A generic client calls both as a tool without kehu's .proto files would
// (grpc_health_probe, grpcurl): with raw protobuf bytes.
TEST(ServerTest, HealthAndReflectionServicesAnswer) {
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());
  grpc::GenericStub generic(client.channel());
  grpc::CompletionQueue cq;

  {  // grpc.health.v1.Health/Check with an empty service name.
    grpc::ClientContext context;
    auto call = generic.PrepareUnaryCall(
        &context, "/grpc.health.v1.Health/Check", Bytes(""), &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, nullptr);
    ASSERT_TRUE(Complete(&cq));
    ASSERT_TRUE(status.ok()) << status.error_message();
    // HealthCheckResponse{status: SERVING} is field 1 = 1.
    EXPECT_EQ(ToString(response), std::string("\x08\x01", 2));
  }
  {  // ServerReflectionInfo with list_services (field 7) = "".
    grpc::ClientContext context;
    auto stream = generic.PrepareCall(
        &context,
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
    stream->StartCall(nullptr);
    ASSERT_TRUE(Complete(&cq));
    stream->Write(Bytes(std::string("\x3a\x00", 2)), nullptr);
    ASSERT_TRUE(Complete(&cq));
    grpc::ByteBuffer response;
    stream->Read(&response, nullptr);
    ASSERT_TRUE(Complete(&cq));
    const std::string services = ToString(response);
    EXPECT_THAT(services, ::testing::HasSubstr("kehu.query.v1.Query"));
    EXPECT_THAT(services, ::testing::HasSubstr("kehu.ingest.v1.Ingest"));
    stream->WritesDone(nullptr);
    ASSERT_TRUE(Complete(&cq));
    grpc::Status status;
    stream->Finish(&status, nullptr);
    ASSERT_TRUE(Complete(&cq));
  }
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

// Check names each service the server has, and only those; Watch streams
// the status, and the server's shutdown ends the stream instead of waiting
// for the watcher to leave.
TEST(ServerTest, HealthChecksEachServiceAndWatchEndsAtShutdown) {
  using grpc::health::v1::Health;
  using grpc::health::v1::HealthCheckRequest;
  using grpc::health::v1::HealthCheckResponse;
  TempDir dir;
  Server server(TestOptions(dir.path()));
  ASSERT_OK(server.Start());
  Client client(server.address());
  std::unique_ptr<Health::Stub> health = Health::NewStub(client.channel());

  for (const char* service :
       {"", "kehu.query.v1.Query", "kehu.ingest.v1.Ingest",
        "kehu.admin.v1.Admin", "grpc.health.v1.Health"}) {
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }
  {
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service("kehu.query.v2.Query");
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(),
                ::testing::HasSubstr("\"kehu.query.v2.Query\""));
  }
  {  // An unknown service is watched as SERVICE_UNKNOWN.
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service("nothing.here");
    auto stream = health->Watch(&context, request);
    HealthCheckResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
    context.TryCancel();
    EXPECT_FALSE(stream->Read(&response));
  }
  grpc::ClientContext context;
  auto stream = health->Watch(&context, HealthCheckRequest());
  HealthCheckResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  server.Shutdown();
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_FALSE(stream->Finish().ok());
}

// Folds the events through a server in `dir`, restarting the server at
// every index in `restarts` (the projector may be anywhere behind the log
// then), and returns every customer's stored state.
std::map<std::string, std::string> RunWithRestarts(
    const std::string& dir, const std::vector<Event>& events,
    const std::vector<size_t>& restarts, const std::vector<Event>& resent) {
  auto server = std::make_unique<Server>(TestOptions(dir));
  EXPECT_OK(server->Start());
  size_t next_restart = 0;
  const size_t kBatch = 97;
  for (size_t i = 0; i < events.size(); i += kBatch) {
    if (next_restart < restarts.size() && i >= restarts[next_restart]) {
      ++next_restart;
      server->Shutdown();
      server = std::make_unique<Server>(TestOptions(dir));
      EXPECT_OK(server->Start());
    }
    Client client(server->address());
    std::vector<Event> batch(
        events.begin() + i,
        events.begin() + std::min(events.size(), i + kBatch));
    EXPECT_EQ(client.Append(batch).accepted_count(),
              static_cast<int64_t>(batch.size()));
  }
  if (!resent.empty()) {
    Client client(server->address());
    EXPECT_EQ(client.Append(resent).accepted_count(),
              static_cast<int64_t>(resent.size()));
  }
  EXPECT_TRUE(server->projector()->WaitUntilCaughtUp(absl::Now() + kPatience));

  std::map<std::string, std::string> states;
  auto* store = server->store();
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(
      rocksdb::ReadOptions(),
      store->family(infra::schema::Family::kCustomers)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    store::v1::CustomerState state;
    EXPECT_TRUE(state.ParseFromString(it->value().ToString()));
    // Re-sent events take log offsets of their own; all else must match.
    state.clear_last_offset();
    states[it->key().ToString()] = state.SerializeAsString();
  }
  EXPECT_TRUE(it->status().ok());
  return states;
}

TEST(ServerTest, RestartMidStreamLosesNothingAndCountsNothingTwice) {
  producers::SimulatorOptions sim;
  sim.customers = 200;
  sim.days = 120;
  sim.seed = 7;
  std::vector<Event> events;
  ASSERT_OK(producers::Simulator(sim).Run([&](const Event& e) {
    events.push_back(e);
    return absl::OkStatus();
  }));
  ASSERT_GT(events.size(), 1000u);

  TempDir uninterrupted;
  auto expected = RunWithRestarts(uninterrupted.path(), events, {}, {});
  ASSERT_GT(expected.size(), 100u);

  // Stop twice mid-stream, and re-send a slice of events that were already
  // folded: the same event ids must change nothing.
  std::vector<Event> resent(events.begin() + 100, events.begin() + 300);
  TempDir restarted;
  auto actual =
      RunWithRestarts(restarted.path(), events,
                      {events.size() / 3, 2 * events.size() / 3}, resent);
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [id, state] : expected) {
    EXPECT_EQ(actual[id], state) << "customer " << id;
  }
}

}  // namespace
}  // namespace kehu::app
