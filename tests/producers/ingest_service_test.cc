#include "producers/ingest_service.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "infra/event_log.h"
#include "kehu/events/v1/events.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"

namespace kehu::producers {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The test fake of infra::EventLog: partitions are in-memory vectors, the
// partition of a key is its last byte modulo the partition count (the real
// logs use murmur2; the service must not care), and the next appends can be
// told to fail.
class FakeEventLog final : public infra::EventLog {
 public:
  explicit FakeEventLog(int32_t partition_count)
      : partition_count_(partition_count),
        partitions_(static_cast<size_t>(partition_count)) {}

  // Makes every later Append fail with `status` (OK to heal).
  void FailAppends(absl::Status status) {
    absl::MutexLock lock(&mu_);
    append_error_ = std::move(status);
  }

  int append_calls() const {
    absl::MutexLock lock(&mu_);
    return append_calls_;
  }

  // Every record of every partition.
  std::vector<infra::LogRecord> AllRecords() const {
    absl::MutexLock lock(&mu_);
    std::vector<infra::LogRecord> out;
    for (const auto& partition : partitions_) {
      out.insert(out.end(), partition.begin(), partition.end());
    }
    return out;
  }

  // The record at `position`; nullopt when there is none.
  std::optional<infra::LogRecord> At(infra::LogPosition position) const {
    absl::MutexLock lock(&mu_);
    if (position.partition < 0 || position.partition >= partition_count_) {
      return std::nullopt;
    }
    const auto& partition = partitions_[position.partition];
    if (position.offset < 0 ||
        position.offset >= static_cast<int64_t>(partition.size())) {
      return std::nullopt;
    }
    return partition[position.offset];
  }

  int32_t partition_count() const override { return partition_count_; }

  absl::StatusOr<std::vector<infra::LogPosition>> Append(
      absl::Span<const infra::LogAppend> records) override {
    absl::MutexLock lock(&mu_);
    ++append_calls_;
    if (!append_error_.ok()) return append_error_;
    std::vector<infra::LogPosition> positions;
    for (const infra::LogAppend& record : records) {
      const int32_t p = PartitionOf(record.key);
      auto& partition = partitions_[p];
      const int64_t offset = static_cast<int64_t>(partition.size());
      partition.push_back(
          infra::LogRecord{p, offset, record.key, record.value});
      positions.push_back(infra::LogPosition{p, offset});
    }
    return positions;
  }

  absl::Status Read(int32_t partition, int64_t offset, size_t max_records,
                    std::vector<infra::LogRecord>* out) override {
    absl::MutexLock lock(&mu_);
    const auto& records = partitions_[partition];
    for (int64_t o = offset;
         o < static_cast<int64_t>(records.size()) && out->size() < max_records;
         ++o) {
      out->push_back(records[o]);
    }
    return absl::OkStatus();
  }

  int64_t EndOffset(int32_t partition) const override {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(partitions_[partition].size());
  }

  bool WaitForData(int32_t partition, int64_t offset,
                   absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return shut_down_ ||
             static_cast<int64_t>(partitions_[partition].size()) > offset;
    };
    mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
    return static_cast<int64_t>(partitions_[partition].size()) > offset;
  }

  void Shutdown() override {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    append_error_ = absl::CancelledError("event log is shut down");
  }

  // The partition `key` goes to.
  int32_t PartitionOf(const std::string& key) const {
    const uint8_t last = key.empty() ? 0 : static_cast<uint8_t>(key.back());
    return static_cast<int32_t>(last % partition_count_);
  }

 private:
  const int32_t partition_count_;
  mutable absl::Mutex mu_;
  std::vector<std::vector<infra::LogRecord>> partitions_ ABSL_GUARDED_BY(mu_);
  absl::Status append_error_ ABSL_GUARDED_BY(mu_);
  int append_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

events::v1::Event Call(const std::string& event_id,
                       const std::string& customer_id) {
  events::v1::Event e;
  e.set_event_id(event_id);
  e.set_customer_id(customer_id);
  e.mutable_occurred_at()->set_seconds(1700000000);
  e.set_source("callcenter");
  e.mutable_call_logged()->set_direction(events::v1::DIRECTION_INBOUND);
  e.mutable_call_logged()->set_duration_seconds(90);
  return e;
}

events::v1::Event Order(const std::string& event_id,
                        const std::string& customer_id, int64_t quantity) {
  events::v1::Event e;
  e.set_event_id(event_id);
  e.set_customer_id(customer_id);
  e.mutable_occurred_at()->set_seconds(1700000000);
  e.set_source("webshop");
  events::v1::OrderPlaced* o = e.mutable_order_placed();
  o->set_order_id(absl::StrCat("order-", event_id));
  o->set_currency("EUR");
  events::v1::OrderLine* line = o->add_lines();
  line->set_sku("SKU-1");
  line->set_quantity(quantity);
  line->set_unit_price_minor(1999);
  return e;
}

ingest::v1::AppendRequest Request(std::vector<events::v1::Event> events) {
  ingest::v1::AppendRequest request;
  for (events::v1::Event& e : events) *request.add_events() = std::move(e);
  return request;
}

// An IngestService over a FakeEventLog, on a real gRPC server (loopback,
// port 0), and a client stub to it.
class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = ingest::v1::Ingest::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  grpc::Status Append(const ingest::v1::AppendRequest& request,
                      ingest::v1::AppendResponse* response) {
    grpc::ClientContext context;
    return stub_->Append(&context, request, response);
  }

  // Checks that the log holds, at the position of each accepted entry, the
  // event of `events` with that index, keyed by its customer.
  void ExpectAcceptedEventsAreInTheLog(
      const ingest::v1::AppendResponse& response,
      const std::vector<events::v1::Event>& events) {
    for (const ingest::v1::Accepted& a : response.accepted()) {
      SCOPED_TRACE(absl::StrCat("accepted index ", a.index()));
      ASSERT_GE(a.index(), 0);
      ASSERT_LT(a.index(), static_cast<int64_t>(events.size()));
      std::optional<infra::LogRecord> record =
          log_.At(infra::LogPosition{a.partition(), a.offset()});
      ASSERT_TRUE(record.has_value());
      const events::v1::Event& sent = events[a.index()];
      EXPECT_EQ(record->key, sent.customer_id());
      events::v1::Event stored;
      ASSERT_TRUE(stored.ParseFromString(record->value));
      EXPECT_EQ(stored.SerializeAsString(), sent.SerializeAsString());
    }
  }

  FakeEventLog log_{4};
  IngestService service_{&log_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ingest::v1::Ingest::Stub> stub_;
};

TEST_F(IngestServiceTest,
       AppendRejectsInvalidEventsNamingTheFieldAndAppendsTheRest) {
  events::v1::Event no_customer = Call("e3", "");
  const std::vector<events::v1::Event> events = {
      Call("e0", "C1"), Order("e1", "C2", -2), Order("e2", "C3", 1),
      no_customer, Call("e4", "C2")};
  ingest::v1::AppendResponse response;
  grpc::Status status = Append(Request(events), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  EXPECT_EQ(response.rejected_count(), 2);
  ASSERT_EQ(response.rejected_size(), 2);
  EXPECT_EQ(response.rejected(0).index(), 1);
  EXPECT_EQ(response.rejected(0).event_id(), "e1");
  EXPECT_EQ(response.rejected(0).field(), "order_placed.lines[0].quantity");
  EXPECT_THAT(response.rejected(0).reason(), HasSubstr("must be positive"));
  EXPECT_EQ(response.rejected(1).index(), 3);
  EXPECT_EQ(response.rejected(1).event_id(), "e3");
  EXPECT_EQ(response.rejected(1).field(), "customer_id");

  EXPECT_EQ(response.accepted_count(), 3);
  ASSERT_EQ(response.accepted_size(), 3);
  EXPECT_EQ(response.accepted(0).index(), 0);
  EXPECT_EQ(response.accepted(1).index(), 2);
  EXPECT_EQ(response.accepted(2).index(), 4);
  ExpectAcceptedEventsAreInTheLog(response, events);
  // Exactly the valid events, nothing more, in one append.
  EXPECT_EQ(log_.AllRecords().size(), 3u);
  EXPECT_EQ(log_.append_calls(), 1);
}

TEST_F(IngestServiceTest, AppendKeepsACustomersEventsInOrderInOnePartition) {
  const std::vector<events::v1::Event> events = {
      Call("e0", "C9"), Call("e1", "C9"), Call("e2", "C9")};
  ingest::v1::AppendResponse response;
  grpc::Status status = Append(Request(events), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.accepted_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(response.accepted(i).partition(),
              response.accepted(0).partition());
    EXPECT_EQ(response.accepted(i).offset(), i);
  }
  ExpectAcceptedEventsAreInTheLog(response, events);
}

TEST_F(IngestServiceTest, AppendOfAnEmptyRequestAcceptsAndRejectsNothing) {
  ingest::v1::AppendResponse response;
  grpc::Status status = Append(ingest::v1::AppendRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted_count(), 0);
  EXPECT_EQ(response.rejected_count(), 0);
  EXPECT_TRUE(log_.AllRecords().empty());
}

TEST_F(IngestServiceTest, AppendFailsWithTheLogsErrorAndAcceptsNothing) {
  log_.FailAppends(absl::UnavailableError("disk full"));
  ingest::v1::AppendResponse response;
  grpc::Status status =
      Append(Request({Call("e0", "C1"), Call("e1", "C2")}), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("disk full"));
  EXPECT_EQ(response.accepted_size(), 0);
  EXPECT_EQ(log_.append_calls(), 1);
  EXPECT_TRUE(log_.AllRecords().empty());
}

TEST_F(IngestServiceTest, AppendRejectsMoreThan10000EventsPerRequest) {
  std::vector<events::v1::Event> events;
  for (int i = 0; i <= kMaxEventsPerRequest; ++i) {
    events.push_back(Call(absl::StrCat("e", i), "C1"));
  }
  ingest::v1::AppendResponse response;
  grpc::Status status = Append(Request(events), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              StartsWith("events: at most 10000 per request"));
  EXPECT_EQ(log_.append_calls(), 0);

  // 10000 is still fine.
  events.pop_back();
  status = Append(Request(events), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted_count(), kMaxEventsPerRequest);
}

TEST_F(IngestServiceTest, AppendStreamCountsIndexesAcrossTheStream) {
  const std::vector<events::v1::Event> events = {
      Call("e0", "C1"), Order("e1", "C2", 0), Call("e2", "C3"),
      Order("e3", "C1", 2), Call("e4", "")};
  grpc::ClientContext context;
  ingest::v1::AppendResponse response;
  std::unique_ptr<grpc::ClientWriter<ingest::v1::AppendRequest>> writer =
      stub_->AppendStream(&context, &response);
  ASSERT_TRUE(writer->Write(Request({events[0], events[1]})));
  ASSERT_TRUE(writer->Write(Request({events[2], events[3], events[4]})));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();

  EXPECT_EQ(response.accepted_count(), 3);
  ASSERT_EQ(response.accepted_size(), 3);
  EXPECT_EQ(response.accepted(0).index(), 0);
  EXPECT_EQ(response.accepted(1).index(), 2);
  EXPECT_EQ(response.accepted(2).index(), 3);
  EXPECT_EQ(response.rejected_count(), 2);
  ASSERT_EQ(response.rejected_size(), 2);
  EXPECT_EQ(response.rejected(0).index(), 1);
  EXPECT_EQ(response.rejected(0).field(), "order_placed.lines[0].quantity");
  EXPECT_EQ(response.rejected(1).index(), 4);
  EXPECT_EQ(response.rejected(1).field(), "customer_id");
  ExpectAcceptedEventsAreInTheLog(response, events);
  EXPECT_EQ(log_.AllRecords().size(), 3u);
}

TEST_F(IngestServiceTest, AppendStreamAppendsEachBatchAsItArrives) {
  grpc::ClientContext context;
  ingest::v1::AppendResponse response;
  std::unique_ptr<grpc::ClientWriter<ingest::v1::AppendRequest>> writer =
      stub_->AppendStream(&context, &response);
  ASSERT_TRUE(writer->Write(Request({Call("e0", "C1")})));
  // The stream is still open, yet the event must reach the log. The
  // deadline only keeps a service that waits for the end from hanging the
  // test.
  EXPECT_TRUE(log_.WaitForData(log_.PartitionOf("C1"), 0,
                               absl::Now() + absl::Seconds(60)));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted_count(), 1);
}

TEST_F(IngestServiceTest,
       AppendStreamFailsOnAnOversizedMessageKeepingEarlierBatches) {
  std::vector<events::v1::Event> too_many;
  for (int i = 0; i <= kMaxEventsPerRequest; ++i) {
    too_many.push_back(Call(absl::StrCat("big", i), "C2"));
  }
  grpc::ClientContext context;
  ingest::v1::AppendResponse response;
  std::unique_ptr<grpc::ClientWriter<ingest::v1::AppendRequest>> writer =
      stub_->AppendStream(&context, &response);
  ASSERT_TRUE(writer->Write(Request({Call("e0", "C1")})));
  // The server may already have failed the stream when this write lands.
  writer->Write(Request(too_many));
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              StartsWith("events: at most 10000 per request"));
  const std::vector<infra::LogRecord> records = log_.AllRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "C1");
}

TEST_F(IngestServiceTest, AppendStreamFailsWithTheLogsError) {
  log_.FailAppends(absl::ResourceExhaustedError("log is full"));
  grpc::ClientContext context;
  ingest::v1::AppendResponse response;
  std::unique_ptr<grpc::ClientWriter<ingest::v1::AppendRequest>> writer =
      stub_->AppendStream(&context, &response);
  writer->Write(Request({Call("e0", "C1")}));
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(response.accepted_size(), 0);
  EXPECT_TRUE(log_.AllRecords().empty());
}

}  // namespace
}  // namespace kehu::producers
