#include "query/query_service.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "infra/embedded_log.h"
#include "infra/projection_store.h"
#include "infra/store_schema.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "rocksdb/write_batch.h"
#include "tests/testing/query_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::query {
namespace {

using infra::schema::Family;
using infra::schema::IndexMetric;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A customer row plus its entries in the three indexes, as the projector
// would write them in one batch.
struct Row {
  std::string customer_id;
  int64_t revenue = 0;
  int64_t margin = 0;
  int64_t purchases = 0;
};

// A QueryService on a real gRPC server (loopback, port 0) over a real
// ProjectionStore in a temp dir, and a client stub to it.
class QueryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    infra::ProjectionStoreOptions options;
    // Not the default, so a hard-coded currency would show.
    options.reporting_currency = "GBP";
    ASSERT_OK_AND_ASSIGN(
        store_, infra::ProjectionStore::Open(dir_.Sub("store"), options));
    infra::EmbeddedLogOptions log_options;
    log_options.partitions = 2;
    ASSERT_OK_AND_ASSIGN(
        log_, infra::EmbeddedLog::Open(dir_.Sub("log"), log_options));
    Serve(QueryServiceOptions());
  }

  // (Re)starts the server with a service of these options.
  void Serve(QueryServiceOptions options) {
    server_.reset();
    service_ = std::make_unique<QueryService>(store_.get(), log_.get(),
                                              std::move(options));
    server_ = std::make_unique<testing::QueryServer>(service_.get());
    stub_ = server_->NewStub();
  }

  void TearDown() override { server_.reset(); }

  void Write(const std::vector<Row>& rows) {
    rocksdb::WriteBatch batch;
    for (const Row& row : rows) {
      store::v1::CustomerState state;
      state.set_customer_id(row.customer_id);
      state.set_name(absl::StrCat("name of ", row.customer_id));
      state.set_purchase_count(row.purchases);
      store::v1::CurrencyTotals* totals = state.add_totals();
      totals->set_currency("GBP");
      totals->set_revenue_minor(row.revenue);
      totals->set_margin_minor(row.margin);
      Put(&batch, Family::kCustomers,
          infra::schema::CustomerKey(row.customer_id),
          state.SerializeAsString());
      Put(&batch, Family::kIndexes,
          infra::schema::IndexKey(IndexMetric::kRevenue, row.revenue,
                                  row.customer_id),
          "");
      Put(&batch, Family::kIndexes,
          infra::schema::IndexKey(IndexMetric::kMargin, row.margin,
                                  row.customer_id),
          "");
      Put(&batch, Family::kIndexes,
          infra::schema::IndexKey(IndexMetric::kPurchaseCount, row.purchases,
                                  row.customer_id),
          "");
    }
    Commit(&batch);
  }

  void Put(rocksdb::WriteBatch* batch, Family family, const std::string& key,
           const std::string& value) {
    rocksdb::Status s = batch->Put(store_->family(family), key, value);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // ASSERT_OK evaluates its argument again to print it, so writes go
  // through a named status.
  void Commit(rocksdb::WriteBatch* batch) {
    absl::Status s = store_->Write(batch);
    ASSERT_OK(s);
  }

  void PutRaw(Family family, const std::string& key, const std::string& value) {
    rocksdb::WriteBatch batch;
    Put(&batch, family, key, value);
    Commit(&batch);
  }

  grpc::Status GetCustomer(const std::string& id,
                           query::v1::CustomerView* view) {
    grpc::ClientContext context;
    query::v1::GetCustomerRequest request;
    request.set_customer_id(id);
    return stub_->GetCustomer(&context, request, view);
  }

  grpc::Status TopCustomers(query::v1::Metric metric, int limit,
                            query::v1::TopCustomersResponse* response) {
    grpc::ClientContext context;
    query::v1::TopCustomersRequest request;
    request.set_metric(metric);
    request.set_limit(limit);
    return stub_->TopCustomers(&context, request, response);
  }

  // The customer ids of a TopCustomers answer, in rank order, with a check
  // that the ranks run 1..n.
  static std::vector<std::string> RankedIds(
      const query::v1::TopCustomersResponse& response) {
    std::vector<std::string> ids;
    for (int i = 0; i < response.customers_size(); ++i) {
      EXPECT_EQ(response.customers(i).rank(), i + 1);
      ids.push_back(response.customers(i).customer().customer_id());
    }
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<infra::ProjectionStore> store_;
  std::unique_ptr<infra::EmbeddedLog> log_;
  std::unique_ptr<QueryService> service_;
  std::unique_ptr<testing::QueryServer> server_;
  std::unique_ptr<query::v1::Query::Stub> stub_;
};

TEST_F(QueryServiceTest, GetCustomerReturnsTheViewOfTheStoredRow) {
  Write({{"C42", 1200, 300, 2}, {"C7", 10, 1, 1}});
  query::v1::CustomerView view;
  grpc::Status status = GetCustomer("C42", &view);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(view.customer_id(), "C42");
  EXPECT_EQ(view.profile().name(), "name of C42");
  EXPECT_EQ(view.orders().purchase_count(), 2);
  ASSERT_EQ(view.orders().totals_size(), 1);
  EXPECT_EQ(view.orders().totals(0).revenue_minor(), 1200);
}

TEST_F(QueryServiceTest, GetCustomerOfAnUnknownIdIsNotFound) {
  Write({{"C7", 10, 1, 1}});
  query::v1::CustomerView view;
  grpc::Status status = GetCustomer("C42", &view);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "customer C42 not found");
}

TEST_F(QueryServiceTest, GetCustomerWithAnEmptyIdIsInvalidArgumentNamingIt) {
  query::v1::CustomerView view;
  grpc::Status status = GetCustomer("", &view);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "customer_id: must not be empty");
}

TEST_F(QueryServiceTest, GetCustomerWithAnIdOver128BytesIsInvalidArgument) {
  // A row under the long id exists, so only the length check can refuse it.
  const std::string long_id(129, 'x');
  store::v1::CustomerState state;
  state.set_customer_id(long_id);
  PutRaw(Family::kCustomers, long_id, state.SerializeAsString());

  query::v1::CustomerView view;
  grpc::Status status = GetCustomer(long_id, &view);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("customer_id: "));
  EXPECT_THAT(status.error_message(), HasSubstr("129"));

  // 128 bytes is still fine.
  const std::string max_id(128, 'y');
  state.set_customer_id(max_id);
  PutRaw(Family::kCustomers, max_id, state.SerializeAsString());
  status = GetCustomer(max_id, &view);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(QueryServiceTest, GetCustomerOfARowThatDoesNotParseIsDataLoss) {
  // Field 1, length-delimited, with a length running past the end.
  PutRaw(Family::kCustomers, "C42", std::string("\x0a\x7f", 2));
  query::v1::CustomerView view;
  grpc::Status status = GetCustomer("C42", &view);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS);
}

TEST_F(QueryServiceTest, TopCustomersRanksByTheMetricHighestFirst) {
  // Margins and purchase counts order the customers differently from
  // revenue, and their index entries sort after the revenue ones: a scan
  // that runs past its metric would return them too.
  Write({{"A", 500, 900, 1},
         {"B", 1500, 100, 3},
         {"C", 900, 500, 7},
         {"D", -20, -5, 0}});
  query::v1::TopCustomersResponse response;
  grpc::Status status =
      TopCustomers(query::v1::METRIC_REVENUE, 1000, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.metric(), query::v1::METRIC_REVENUE);
  EXPECT_EQ(response.currency(), "GBP");
  EXPECT_THAT(RankedIds(response), ElementsAre("B", "C", "A", "D"));
  ASSERT_EQ(response.customers_size(), 4);
  EXPECT_EQ(response.customers(0).value(), 1500);
  EXPECT_EQ(response.customers(3).value(), -20);
  EXPECT_EQ(response.customers(0).customer().orders().totals(0).revenue_minor(),
            1500);

  response.Clear();
  status = TopCustomers(query::v1::METRIC_MARGIN, 1000, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(RankedIds(response), ElementsAre("A", "C", "B", "D"));

  response.Clear();
  status = TopCustomers(query::v1::METRIC_PURCHASE_COUNT, 1000, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(RankedIds(response), ElementsAre("C", "B", "A", "D"));
  EXPECT_EQ(response.customers(0).value(), 7);
}

TEST_F(QueryServiceTest, TopCustomersReturnsAtMostLimitCustomers) {
  Write({{"A", 500, 0, 0}, {"B", 1500, 0, 0}, {"C", 900, 0, 0}});
  query::v1::TopCustomersResponse response;
  grpc::Status status = TopCustomers(query::v1::METRIC_REVENUE, 2, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(RankedIds(response), ElementsAre("B", "C"));
}

TEST_F(QueryServiceTest, TopCustomersOfAnEmptyStoreIsEmpty) {
  query::v1::TopCustomersResponse response;
  grpc::Status status = TopCustomers(query::v1::METRIC_MARGIN, 10, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.customers_size(), 0);
}

TEST_F(QueryServiceTest, TopCustomersRejectsALimitOutside1To1000) {
  for (int limit : {0, -1, 1001}) {
    query::v1::TopCustomersResponse response;
    grpc::Status status =
        TopCustomers(query::v1::METRIC_REVENUE, limit, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "limit " << limit;
    EXPECT_EQ(status.error_message(),
              absl::StrCat("limit: must lie in 1..1000, got ", limit));
  }
}

TEST_F(QueryServiceTest, TopCustomersRejectsAnUnsetOrUnknownMetric) {
  for (int metric : {0, 99}) {
    query::v1::TopCustomersResponse response;
    grpc::Status status =
        TopCustomers(static_cast<query::v1::Metric>(metric), 10, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "metric " << metric;
    EXPECT_THAT(status.error_message(), StartsWith("metric: "));
  }
}

TEST_F(QueryServiceTest, TopCustomersOfAnIndexEntryWithoutARowIsDataLoss) {
  PutRaw(Family::kIndexes,
         infra::schema::IndexKey(IndexMetric::kRevenue, 10, "ghost"), "");
  query::v1::TopCustomersResponse response;
  grpc::Status status = TopCustomers(query::v1::METRIC_REVENUE, 10, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(status.error_message(), HasSubstr("ghost"));
}

TEST_F(QueryServiceTest, GetProgressReportsLagAndCountersPerPartition) {
  // Three records in the log's partitions; the store has folded one of
  // partition 0's.
  std::vector<infra::LogAppend> records = {{"a", "x"}, {"b", "y"}, {"c", "z"}};
  ASSERT_OK_AND_ASSIGN(auto positions, log_->Append(records));
  std::vector<int64_t> ends(2, 0);
  for (const auto& p : positions)
    ends[p.partition] = std::max(ends[p.partition], p.offset + 1);
  store::v1::PartitionProgress progress;
  progress.set_next_offset(1);
  progress.set_folded(1);
  progress.set_dead_lettered(0);
  progress.set_duplicates(4);
  rocksdb::WriteBatch batch;
  Put(&batch, Family::kOffsets, infra::schema::PartitionKey(0),
      progress.SerializeAsString());
  ASSERT_OK(store_->Write(&batch));

  grpc::ClientContext context;
  query::v1::GetProgressResponse response;
  ASSERT_TRUE(stub_->GetProgress(&context, {}, &response).ok());
  ASSERT_EQ(response.partitions_size(), 2);
  EXPECT_EQ(response.partitions(0).log_end_offset(), ends[0]);
  EXPECT_EQ(response.partitions(0).next_offset(), 1);
  EXPECT_EQ(response.partitions(0).lag(), std::max<int64_t>(0, ends[0] - 1));
  EXPECT_EQ(response.partitions(1).lag(), ends[1]);
  EXPECT_EQ(response.lag(), std::max<int64_t>(0, ends[0] - 1) + ends[1]);
  EXPECT_EQ(response.lag(),
            2);  // "a" and "c" share a partition, "b" has the other
  EXPECT_EQ(response.duplicates(), 4);
  EXPECT_EQ(response.folded(), 1);
}

TEST_F(QueryServiceTest, ListDeadLettersPagesInLogOrder) {
  rocksdb::WriteBatch batch;
  for (auto [partition, offset] :
       std::vector<std::pair<int, int64_t>>{{1, 5}, {0, 9}, {0, 2}}) {
    store::v1::DeadLetter letter;
    letter.set_partition(partition);
    letter.set_offset(offset);
    letter.set_key("C1");
    letter.set_value("\xff");
    letter.set_reason(absl::StrCat("bad ", partition, "/", offset));
    Put(&batch, Family::kDeadLetter,
        infra::schema::DeadLetterKey(partition, offset),
        letter.SerializeAsString());
  }
  ASSERT_OK(store_->Write(&batch));

  std::vector<std::string> reasons;
  query::v1::ListDeadLettersRequest request;
  request.set_page_size(2);
  int pages = 0;
  do {
    grpc::ClientContext context;
    query::v1::ListDeadLettersResponse response;
    ASSERT_TRUE(stub_->ListDeadLetters(&context, request, &response).ok());
    for (const auto& letter : response.dead_letters()) {
      reasons.push_back(letter.reason());
      EXPECT_EQ(letter.value(), "\xff");
    }
    request.set_page_token(response.next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(reasons, ElementsAre("bad 0/2", "bad 0/9", "bad 1/5"));
}

TEST_F(QueryServiceTest,
       ListDeadLettersRejectsAMalformedTokenAndAnOversizedPage) {
  query::v1::ListDeadLettersRequest request;
  request.set_page_token("not-a-token");
  grpc::ClientContext context;
  query::v1::ListDeadLettersResponse response;
  grpc::Status s = stub_->ListDeadLetters(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("page_token:"));

  request.Clear();
  request.set_page_size(1001);
  grpc::ClientContext context2;
  s = stub_->ListDeadLetters(&context2, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("page_size:"));
}

TEST_F(QueryServiceTest, AsOfDefaultsToTheServersClockAndMayNotLieInTheFuture) {
  Write({{"C42", 1200, 300, 2}});
  const absl::Time now = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  QueryServiceOptions options;
  options.clock = [now] { return now; };
  QueryService service(store_.get(), log_.get(), options);

  query::v1::GetCustomerRequest request;
  request.set_customer_id("C42");
  query::v1::CustomerView view;
  ASSERT_TRUE(service.ViewCustomer(request, &view).ok());
  EXPECT_EQ(view.as_of().seconds(), 1767225600);
  EXPECT_EQ(view.currency(), "GBP");

  // Within the allowed skew: fine; beyond it: INVALID_ARGUMENT naming as_of.
  request.mutable_as_of()->set_seconds(1767225600 + 60);
  EXPECT_TRUE(service.ViewCustomer(request, &view).ok());
  request.mutable_as_of()->set_seconds(1767225600 + 3600);
  grpc::Status s = service.ViewCustomer(request, &view);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("as_of:"));
  // A past as_of is answered at that time.
  request.mutable_as_of()->set_seconds(1735689600);
  ASSERT_TRUE(service.ViewCustomer(request, &view).ok());
  EXPECT_EQ(view.as_of().seconds(), 1735689600);
}


TEST_F(QueryServiceTest, LookupsAreAnsweredWhileScansWaitAndAFullQueueIsRefused) {
  Write({{"C42", 1200, 300, 2}});
  // The first call to read the clock (the first SegmentSummary, on the
  // only worker) holds that worker until released.
  absl::Notification holding, release;
  std::atomic<int> reads{0};
  QueryServiceOptions options;
  options.clock = [&] {
    if (reads.fetch_add(1) == 0) {
      holding.Notify();
      release.WaitForNotification();
    }
    return absl::FromUnixSeconds(1767225600);
  };
  options.worker_threads = 1;
  options.max_queued_calls = 1;
  Serve(std::move(options));

  query::v1::SegmentSummaryRequest summary;
  summary.set_dimension(query::v1::DIMENSION_PYRAMID_TIER);
  grpc::ClientContext first_context, second_context;
  query::v1::SegmentSummaryResponse first, second;
  absl::Notification first_done, second_done;
  grpc::Status first_status, second_status;
  stub_->async()->SegmentSummary(&first_context, &summary, &first,
                                 [&](grpc::Status s) {
                                   first_status = std::move(s);
                                   first_done.Notify();
                                 });
  holding.WaitForNotification();
  stub_->async()->SegmentSummary(&second_context, &summary, &second,
                                 [&](grpc::Status s) {
                                   second_status = std::move(s);
                                   second_done.Notify();
                                 });
  // The second waits in the queue, which is then full.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (service_->queued_calls() < 1 && absl::Now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_EQ(service_->queued_calls(), 1u);

  // A point lookup does not wait for the busy worker, with or without an
  // as_of (C42's row is the answer at both).
  for (bool with_as_of : {false, true}) {
    grpc::ClientContext context;
    // Were it queued behind the held worker, it would fail here, not hang.
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    query::v1::GetCustomerRequest request;
    request.set_customer_id("C42");
    if (with_as_of) request.mutable_as_of()->set_seconds(1767225600 - 3600);
    query::v1::CustomerView view;
    grpc::Status s = stub_->GetCustomer(&context, request, &view);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(view.customer_id(), "C42");
  }
  // A third scan finds the queue full and is refused at once.
  {
    grpc::ClientContext context;
    query::v1::SegmentSummaryResponse third;
    grpc::Status s = stub_->SegmentSummary(&context, summary, &third);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(s.error_message(), HasSubstr("server busy"));
  }

  release.Notify();
  first_done.WaitForNotification();
  second_done.WaitForNotification();
  EXPECT_TRUE(first_status.ok()) << first_status.error_message();
  EXPECT_TRUE(second_status.ok()) << second_status.error_message();
}

}  // namespace
}  // namespace kehu::query
