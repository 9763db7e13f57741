#include "producers/publisher.h"

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "kehu/events/v1/events.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"
#include "tests/testing/status_matchers.h"

namespace kehu::producers {
namespace {

using events::v1::Event;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Accepts every event except those whose id is in `reject`; can be told to
// fail its next calls as an unavailable server would.
class FakeIngest final : public ingest::v1::Ingest::Service {
 public:
  explicit FakeIngest(std::set<std::string> reject)
      : reject_(std::move(reject)) {}

  grpc::Status Append(grpc::ServerContext*,
                      const ingest::v1::AppendRequest* request,
                      ingest::v1::AppendResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_left_ > 0) {
      --failures_left_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "log is down");
    }
    batch_sizes_.push_back(request->events_size());
    for (int i = 0; i < request->events_size(); ++i) {
      const Event& e = request->events(i);
      if (reject_.count(e.event_id()) > 0) {
        ingest::v1::Rejected* r = response->add_rejected();
        r->set_index(i);
        r->set_event_id(e.event_id());
        r->set_field("event_id");
        r->set_reason("rejected by the test");
      } else {
        ingest::v1::Accepted* a = response->add_accepted();
        a->set_index(i);
        a->set_offset(next_offset_++);
      }
    }
    response->set_accepted_count(response->accepted_size());
    response->set_rejected_count(response->rejected_size());
    return grpc::Status::OK;
  }

  void FailNextCalls(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_left_ = n;
  }
  std::vector<int> batch_sizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return batch_sizes_;
  }

 private:
  const std::set<std::string> reject_;
  std::mutex mu_;
  int failures_left_ = 0;
  int64_t next_offset_ = 0;
  std::vector<int> batch_sizes_;
};

// A gRPC server on a loopback port chosen by the system.
class TestServer {
 public:
  explicit TestServer(grpc::Service* service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(service);
    server_ = builder.BuildAndStart();
  }
  ~TestServer() { Stop(); }

  void Stop() {
    if (server_ != nullptr) {
      server_->Shutdown();
      server_->Wait();
      server_.reset();
    }
  }
  bool started() const { return port_ > 0; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

Event NewEvent(int i) {
  Event e;
  e.set_event_id(absl::StrCat("e", i));
  e.set_customer_id("C000001");
  e.mutable_occurred_at()->set_seconds(1735689600 + i);
  e.set_source("erp");
  e.mutable_order_cancelled()->set_order_id(absl::StrCat("O", i));
  return e;
}

PublisherOptions BatchesOf(int n) {
  PublisherOptions options;
  options.max_batch_events = n;
  options.call_deadline = absl::Seconds(10);
  return options;
}

TEST(PublisherTest, ReportUsesTheCallersIndexesAcrossSeveralFlushes) {
  FakeIngest service({"e1", "e4", "e7"});
  TestServer server(&service);
  ASSERT_TRUE(server.started());
  Publisher publisher(server.address(), grpc::InsecureChannelCredentials(),
                      BatchesOf(3));

  for (int i = 0; i < 5; ++i) ASSERT_OK(publisher.Add(NewEvent(i)));
  ASSERT_OK(publisher.Flush());
  for (int i = 5; i < 8; ++i) ASSERT_OK(publisher.Add(NewEvent(i)));
  ASSERT_OK(publisher.Flush());

  // Batches [e0 e1 e2] [e3 e4] [e5 e6 e7]: e4 and e7 are batch index 1 and 2.
  EXPECT_THAT(service.batch_sizes(), ElementsAre(3, 2, 3));
  const PublishReport& report = publisher.report();
  EXPECT_EQ(report.accepted, 5);
  EXPECT_EQ(report.rejected, 3);
  ASSERT_EQ(report.rejections.size(), 3u);
  EXPECT_EQ(report.rejections[0].index, 1);
  EXPECT_EQ(report.rejections[0].event_id, "e1");
  EXPECT_EQ(report.rejections[1].index, 4);
  EXPECT_EQ(report.rejections[1].event_id, "e4");
  EXPECT_EQ(report.rejections[2].index, 7);
  EXPECT_EQ(report.rejections[2].event_id, "e7");
  EXPECT_EQ(report.rejections[2].field, "event_id");
  EXPECT_EQ(report.rejections[2].reason, "rejected by the test");
  EXPECT_EQ(publisher.buffered(), 0);
}

TEST(PublisherTest, AddSendsOnlyWhenTheBatchIsFull) {
  FakeIngest service({});
  TestServer server(&service);
  ASSERT_TRUE(server.started());
  Publisher publisher(server.address(), grpc::InsecureChannelCredentials(),
                      BatchesOf(3));

  for (int i = 0; i < 3; ++i) ASSERT_OK(publisher.Add(NewEvent(i)));
  EXPECT_TRUE(service.batch_sizes().empty());
  EXPECT_EQ(publisher.buffered(), 3);
  ASSERT_OK(publisher.Add(NewEvent(3)));  // the full buffer goes first
  EXPECT_THAT(service.batch_sizes(), ElementsAre(3));
  EXPECT_EQ(publisher.buffered(), 1);
  EXPECT_EQ(publisher.report().accepted, 3);
}

TEST(PublisherTest, FailedBatchIsNotCountedAndTheNextFlushResendsIt) {
  FakeIngest service({"e2"});
  TestServer server(&service);
  ASSERT_TRUE(server.started());
  Publisher publisher(server.address(), grpc::InsecureChannelCredentials(),
                      BatchesOf(10));
  ASSERT_OK(publisher.Add(NewEvent(0)));
  ASSERT_OK(publisher.Flush());
  for (int i = 1; i < 4; ++i) ASSERT_OK(publisher.Add(NewEvent(i)));

  service.FailNextCalls(1);
  const absl::Status failed = publisher.Flush();
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(failed.message()), HasSubstr(server.address()));
  EXPECT_EQ(publisher.report().accepted, 1);
  EXPECT_EQ(publisher.report().rejected, 0);
  EXPECT_EQ(publisher.buffered(), 3);

  ASSERT_OK(publisher.Flush());
  EXPECT_EQ(publisher.report().accepted, 3);
  EXPECT_EQ(publisher.report().rejected, 1);
  ASSERT_EQ(publisher.report().rejections.size(), 1u);
  EXPECT_EQ(publisher.report().rejections[0].index, 2);
  EXPECT_EQ(publisher.buffered(), 0);
}

TEST(PublisherTest, UnreachableServerGivesAnErrorNamingIt) {
  // A port that was bound, then closed: nothing listens there now.
  FakeIngest service({});
  TestServer server(&service);
  ASSERT_TRUE(server.started());
  const std::string address = server.address();
  server.Stop();

  PublisherOptions options = BatchesOf(10);
  options.call_deadline = absl::Seconds(5);  // a bound, not an expectation
  Publisher publisher(address, grpc::InsecureChannelCredentials(), options);
  ASSERT_OK(publisher.Add(NewEvent(0)));
  const absl::Status status = publisher.Flush();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(address));
  EXPECT_EQ(publisher.report().accepted, 0);
  EXPECT_EQ(publisher.buffered(), 1);
}

TEST(PublisherTest, AddAfterAFailedFullBatchRefusesTheEvent) {
  FakeIngest service({});
  TestServer server(&service);
  ASSERT_TRUE(server.started());
  Publisher publisher(server.address(), grpc::InsecureChannelCredentials(),
                      BatchesOf(2));
  ASSERT_OK(publisher.Add(NewEvent(0)));
  ASSERT_OK(publisher.Add(NewEvent(1)));
  service.FailNextCalls(1);
  EXPECT_FALSE(publisher.Add(NewEvent(2)).ok());
  EXPECT_EQ(publisher.buffered(), 2) << "e2 was not taken";
  ASSERT_OK(publisher.Add(NewEvent(2)));  // sends e0 e1, then buffers e2
  ASSERT_OK(publisher.Flush());
  EXPECT_THAT(service.batch_sizes(), ElementsAre(2, 1));
  EXPECT_EQ(publisher.report().accepted, 3);
}

}  // namespace
}  // namespace kehu::producers
