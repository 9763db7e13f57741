// ListCustomers, SegmentSummary, Timeline and SatisfactionReport through a
// real gRPC client, over events folded by the real projector, checked
// against figures worked out by hand from the events below.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "infra/embedded_log.h"
#include "infra/projection_store.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "projections/partition_projector.h"
#include "query/query_service.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/query_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::query {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace kehu::testing;  // event builders
namespace v1 = query::v1;

constexpr int64_t kDay0 = 1735689600;  // 2025-01-01T00:00:00Z

events::v1::Event Customer(const std::string& id, const std::string& customer,
                           int day, events::v1::RelationshipType type,
                           const std::string& region) {
  events::v1::Event e = Registered(id, customer, day, "name of " + customer);
  e.mutable_customer_registered()->set_relationship_type(type);
  e.mutable_customer_registered()->set_region(region);
  return e;
}

// One line: margin = price - cost.
events::v1::Event Buy(const std::string& id, const std::string& customer,
                      int day, int64_t price, int64_t cost) {
  return Order(id, customer, day, "O-" + id, {{"sku", 1, price, cost}});
}

google::protobuf::Timestamp Day(int day) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(kDay0 + int64_t{day} * 86400);
  return ts;
}

// The event set:
//   A  business, north: orders on days 10, 100, 200, 300 (margin 4000 each),
//      survey on day 50 (CSAT 5, NPS 10)           -> repeat, 40000 / 16000
//   B  retail, south: order on day 20 (margin 3000), complaint on day 25
//      resolved on day 26, survey on day 30 (CSAT 2, NPS 3), complaint on
//      day 70 still open                           -> new, 5000 / 3000
//   C  retail, north: registered only              -> potential
//   D  distributor, east: order on day 40 (margin 2000), a call on day 41
//                                                  -> new, 8000 / 2000
class SegmentQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, infra::ProjectionStore::Open(
                                     dir_.Sub("store"), {}));
    infra::EmbeddedLogOptions log_options;
    log_options.partitions = 1;
    ASSERT_OK_AND_ASSIGN(log_,
                         infra::EmbeddedLog::Open(dir_.Sub("log"), log_options));
    ASSERT_OK_AND_ASSIGN(projector_,
                         projections::PartitionProjector::Create(store_.get(), 0));
    QueryServiceOptions options;
    options.clock = [] { return absl::FromUnixSeconds(kDay0 + 400 * 86400); };
    service_ = std::make_unique<QueryService>(store_.get(), log_.get(), options);
    server_ = std::make_unique<testing::QueryServer>(service_.get());
    stub_ = server_->NewStub();

    using events::v1::RELATIONSHIP_TYPE_BUSINESS;
    using events::v1::RELATIONSHIP_TYPE_DISTRIBUTOR;
    using events::v1::RELATIONSHIP_TYPE_RETAIL_CONSUMER;
    Fold({
        Customer("a0", "A", 0, RELATIONSHIP_TYPE_BUSINESS, "north"),
        Buy("a1", "A", 10, 10000, 6000),
        Survey("a2", "A", 50, 5, 10),
        Buy("a3", "A", 100, 10000, 6000),
        Buy("a4", "A", 200, 10000, 6000),
        Buy("a5", "A", 300, 10000, 6000),
        Customer("b0", "B", 0, RELATIONSHIP_TYPE_RETAIL_CONSUMER, "south"),
        Buy("b1", "B", 20, 5000, 2000),
        Complaint("b2", "B", 25, "K1"),
        Resolved("b3", "B", 26, "K1", true),
        Survey("b4", "B", 30, 2, 3),
        Complaint("b5", "B", 70, "K2"),
        Customer("c0", "C", 5, RELATIONSHIP_TYPE_RETAIL_CONSUMER, "north"),
        Customer("d0", "D", 0, RELATIONSHIP_TYPE_DISTRIBUTOR, "east"),
        Buy("d1", "D", 40, 8000, 6000),
        Call("d2", "D", 41),
    });
  }

  void TearDown() override { server_.reset(); }

  void Fold(const std::vector<events::v1::Event>& events) {
    std::vector<infra::LogRecord> records;
    for (const auto& e : events) {
      records.push_back(infra::LogRecord{0, next_offset_++, e.customer_id(),
                                         e.SerializeAsString()});
    }
    ASSERT_OK(projector_->Process(records));
  }

  grpc::Status List(const v1::ListCustomersRequest& request,
                    v1::ListCustomersResponse* response) {
    grpc::ClientContext context;
    return stub_->ListCustomers(&context, request, response);
  }

  std::vector<std::string> ListIds(const v1::ListCustomersRequest& request) {
    v1::ListCustomersResponse response;
    grpc::Status s = List(request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.next_page_token(), "");
    std::vector<std::string> ids;
    for (const auto& c : response.customers()) ids.push_back(c.customer_id());
    return ids;
  }

  // Lists a page of one customer, folds `meanwhile`, then pages on to the
  // end with the token; returns the ids in the order they came.
  std::vector<std::string> PageWhileFolding(
      v1::ListCustomersRequest request,
      const std::vector<events::v1::Event>& meanwhile) {
    request.set_page_size(1);
    std::vector<std::string> seen;
    v1::ListCustomersResponse page;
    grpc::Status s = List(request, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(page.customers_size(), 1);
    for (const auto& c : page.customers()) seen.push_back(c.customer_id());
    Fold(meanwhile);
    while (s.ok() && !page.next_page_token().empty()) {
      request.set_page_token(page.next_page_token());
      page.Clear();
      s = List(request, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const auto& c : page.customers()) seen.push_back(c.customer_id());
    }
    return seen;
  }

  grpc::Status Summary(const v1::SegmentSummaryRequest& request,
                       v1::SegmentSummaryResponse* response) {
    grpc::ClientContext context;
    return stub_->SegmentSummary(&context, request, response);
  }

  grpc::Status Timeline(const v1::TimelineRequest& request,
                        v1::TimelineResponse* response) {
    grpc::ClientContext context;
    return stub_->Timeline(&context, request, response);
  }

  grpc::Status Satisfaction(const v1::SatisfactionReportRequest& request,
                            v1::SatisfactionReportResponse* response) {
    grpc::ClientContext context;
    return stub_->SatisfactionReport(&context, request, response);
  }

  // Expects INVALID_ARGUMENT whose message starts with `field`.
  static void ExpectInvalid(const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << s.error_message();
    EXPECT_THAT(s.error_message(), ::testing::StartsWith(field + ":"));
  }

  TempDir dir_;
  std::unique_ptr<infra::ProjectionStore> store_;
  std::unique_ptr<infra::EmbeddedLog> log_;
  std::unique_ptr<projections::PartitionProjector> projector_;
  int64_t next_offset_ = 0;
  std::unique_ptr<QueryService> service_;
  std::unique_ptr<testing::QueryServer> server_;
  std::unique_ptr<v1::Query::Stub> stub_;
};

TEST_F(SegmentQueriesTest, ListCustomersFiltersAndOrders) {
  v1::ListCustomersRequest request;
  request.set_order(v1::CUSTOMER_ORDER_HISTORICAL_VALUE);
  EXPECT_THAT(ListIds(request), ElementsAre("A", "B", "D", "C"));

  request.set_ascending(true);
  EXPECT_THAT(ListIds(request), ElementsAre("C", "D", "B", "A"));
  request.set_ascending(false);

  request.set_order(v1::CUSTOMER_ORDER_RECENCY);
  EXPECT_THAT(ListIds(request), ElementsAre("A", "D", "B", "C"));

  request.mutable_filter()->add_relationship_types(
      events::v1::RELATIONSHIP_TYPE_RETAIL_CONSUMER);
  EXPECT_THAT(ListIds(request), ElementsAre("B", "C"));

  request.clear_filter();
  request.mutable_filter()->add_stages(v1::LIFECYCLE_STAGE_NEW);
  EXPECT_THAT(ListIds(request), ElementsAre("D", "B"));

  request.clear_filter();
  request.mutable_filter()->add_regions("north");
  request.mutable_filter()->add_stages(v1::LIFECYCLE_STAGE_POTENTIAL);
  request.mutable_filter()->add_stages(v1::LIFECYCLE_STAGE_REPEAT);
  EXPECT_THAT(ListIds(request), ElementsAre("A", "C"));

  request.clear_filter();
  request.mutable_filter()->set_has_open_complaints(true);
  EXPECT_THAT(ListIds(request), ElementsAre("B"));

  // B's satisfaction index is low (CSAT 2, NPS 3, complaints), A's high.
  request.clear_filter();
  request.mutable_filter()->mutable_satisfaction()->set_max(60);
  EXPECT_THAT(ListIds(request), ElementsAre("B"));
}

TEST_F(SegmentQueriesTest, ListCustomersReturnsTheStanding) {
  v1::ListCustomersRequest request;
  request.mutable_filter()->add_regions("north");
  request.mutable_filter()->add_stages(v1::LIFECYCLE_STAGE_REPEAT);
  v1::ListCustomersResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_EQ(response.customers_size(), 1);
  const v1::CustomerSummary& a = response.customers(0);
  EXPECT_EQ(a.customer_id(), "A");
  EXPECT_EQ(a.name(), "name of A");
  EXPECT_EQ(a.relationship_type(), events::v1::RELATIONSHIP_TYPE_BUSINESS);
  EXPECT_EQ(a.region(), "north");
  EXPECT_EQ(a.stage(), v1::LIFECYCLE_STAGE_REPEAT);
  EXPECT_EQ(a.historical_value_minor(), 16000);
  EXPECT_EQ(a.window_revenue_minor(), 40000);
  EXPECT_EQ(a.window_margin_minor(), 16000);
  EXPECT_EQ(a.last_purchase_at().seconds(), Day(300).seconds());
  // No population measured yet: standing at the customer's last event.
  EXPECT_EQ(a.standing_as_of().seconds(), Day(300).seconds());
  EXPECT_EQ(a.open_complaints(), 0);
  EXPECT_EQ(response.currency(), "EUR");
}

TEST_F(SegmentQueriesTest, PagingWhileEventsArriveReturnsEachCustomerOnce) {
  v1::ListCustomersRequest request;
  request.set_order(v1::CUSTOMER_ORDER_HISTORICAL_VALUE);
  // B overtakes everyone, E arrives: the listing goes on as it began.
  EXPECT_THAT(PageWhileFolding(request, {Buy("b9", "B", 310, 200000, 100000),
                                         Buy("e1", "E", 310, 90000, 0)}),
              ElementsAre("A", "B", "D", "C"));
  EXPECT_EQ(service_->open_listings(), 0);

  // A new listing sees the new events.
  request.set_page_size(2);
  v1::ListCustomersResponse page;
  ASSERT_TRUE(List(request, &page).ok());
  ASSERT_EQ(page.customers_size(), 2);
  EXPECT_EQ(page.customers(0).customer_id(), "B");
  EXPECT_EQ(page.customers(1).customer_id(), "E");
}

// Lowest first reads the index the other way (its keys descend by value).
TEST_F(SegmentQueriesTest, PagingLowestFirstWhileEventsArrive) {
  v1::ListCustomersRequest request;
  request.set_order(v1::CUSTOMER_ORDER_HISTORICAL_VALUE);
  request.set_ascending(true);
  // C overtakes everyone, E arrives: the listing goes on as it began.
  EXPECT_THAT(PageWhileFolding(request, {Buy("c9", "C", 310, 200000, 100000),
                                         Buy("e1", "E", 310, 90000, 0)}),
              ElementsAre("C", "D", "B", "A"));
  EXPECT_EQ(service_->open_listings(), 0);
}

TEST_F(SegmentQueriesTest, ListCustomersNamesEveryInvalidField) {
  auto invalid = [this](const v1::ListCustomersRequest& r,
                        const std::string& field) {
    v1::ListCustomersResponse response;
    ExpectInvalid(List(r, &response), field);
  };
  v1::ListCustomersRequest r;
  r.set_page_size(1001);
  invalid(r, "page_size");
  r.set_page_size(-1);
  invalid(r, "page_size");

  r.Clear();
  r.set_order(static_cast<v1::CustomerOrder>(42));
  invalid(r, "order");

  r.Clear();
  r.mutable_filter()->add_stages(static_cast<v1::LifecycleStage>(99));
  invalid(r, "filter.stages[0]");

  r.Clear();
  r.mutable_filter()->add_pyramid_tiers(v1::PYRAMID_TIER_UNSPECIFIED);
  invalid(r, "filter.pyramid_tiers[0]");

  r.Clear();
  r.mutable_filter()->add_matrix_cells(static_cast<v1::ValueMatrixCell>(7));
  invalid(r, "filter.matrix_cells[0]");

  r.Clear();
  r.mutable_filter()->add_relationship_types(
      static_cast<events::v1::RelationshipType>(9));
  invalid(r, "filter.relationship_types[0]");

  r.Clear();
  r.mutable_filter()->mutable_recency_score()->set_min(4);
  r.mutable_filter()->mutable_recency_score()->set_max(2);
  invalid(r, "filter.recency_score");

  r.Clear();
  r.mutable_filter()->mutable_frequency_score()->set_max(6);
  invalid(r, "filter.frequency_score.max");

  r.Clear();
  r.mutable_filter()->mutable_churn_risk()->set_max(2);
  invalid(r, "filter.churn_risk.max");

  r.Clear();
  r.mutable_filter()->mutable_satisfaction()->set_min(-1);
  invalid(r, "filter.satisfaction.min");

  r.Clear();
  r.mutable_filter()->add_regions(std::string(129, 'x'));
  invalid(r, "filter.regions[0]");

  r.Clear();
  r.set_page_token("not a token");
  invalid(r, "page_token");

  // A token continues only the request it came from.
  r.Clear();
  r.set_page_size(1);
  v1::ListCustomersResponse first;
  ASSERT_TRUE(List(r, &first).ok());
  ASSERT_FALSE(first.next_page_token().empty());
  r.set_page_token(first.next_page_token());
  r.set_order(v1::CUSTOMER_ORDER_RECENCY);
  invalid(r, "page_token");
}

TEST_F(SegmentQueriesTest, SegmentSummaryByRelationshipType) {
  v1::SegmentSummaryRequest request;
  request.set_dimension(v1::DIMENSION_RELATIONSHIP_TYPE);
  *request.mutable_from() = Day(0);
  *request.mutable_to() = Day(364);
  v1::SegmentSummaryResponse response;
  grpc::Status s = Summary(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.customers(), 4);
  EXPECT_EQ(response.revenue_minor(), 53000);
  EXPECT_EQ(response.margin_minor(), 21000);
  EXPECT_EQ(response.currency(), "EUR");
  ASSERT_EQ(response.segments_size(), 3);
  // Largest margin first.
  const v1::Segment& business = response.segments(0);
  EXPECT_EQ(business.value(), "business");
  EXPECT_EQ(business.customers(), 1);
  EXPECT_DOUBLE_EQ(business.customer_share(), 0.25);
  EXPECT_EQ(business.revenue_minor(), 40000);
  EXPECT_DOUBLE_EQ(business.revenue_share(), 40000.0 / 53000);
  EXPECT_EQ(business.margin_minor(), 16000);
  EXPECT_DOUBLE_EQ(business.margin_share(), 16000.0 / 21000);
  EXPECT_EQ(response.segments(1).value(), "retail_consumer");
  EXPECT_EQ(response.segments(1).customers(), 2);
  EXPECT_EQ(response.segments(1).margin_minor(), 3000);
  EXPECT_EQ(response.segments(2).value(), "distributor");
  EXPECT_EQ(response.segments(2).revenue_minor(), 8000);

  EXPECT_EQ(response.from_month(), "2025-01");
  EXPECT_EQ(response.to_month(), "2025-12");
  std::map<std::pair<int, int>, int64_t> transitions;
  for (const auto& t : response.transitions()) {
    transitions[{t.from(), t.to()}] = t.count();
  }
  EXPECT_EQ((transitions[{v1::LIFECYCLE_STAGE_UNSPECIFIED,
                          v1::LIFECYCLE_STAGE_POTENTIAL}]),
            4);
  EXPECT_EQ(
      (transitions[{v1::LIFECYCLE_STAGE_POTENTIAL, v1::LIFECYCLE_STAGE_NEW}]),
      3);
  EXPECT_EQ(
      (transitions[{v1::LIFECYCLE_STAGE_NEW, v1::LIFECYCLE_STAGE_REPEAT}]), 1);

  // Only March: A's second purchase (day 100 is 11 April) is outside it.
  *request.mutable_from() = Day(59);
  *request.mutable_to() = Day(89);
  response.Clear();
  ASSERT_TRUE(Summary(request, &response).ok());
  EXPECT_EQ(response.from_month(), "2025-03");
  EXPECT_TRUE(response.transitions().empty());
}

TEST_F(SegmentQueriesTest, SegmentSummaryByStageMovesCustomersAsTheyChange) {
  v1::SegmentSummaryRequest request;
  request.set_dimension(v1::DIMENSION_LIFECYCLE_STAGE);
  auto counts = [&] {
    v1::SegmentSummaryResponse response;
    EXPECT_TRUE(Summary(request, &response).ok());
    std::map<std::string, int64_t> by_value;
    for (const auto& s : response.segments()) by_value[s.value()] = s.customers();
    return by_value;
  };
  EXPECT_EQ(counts(), (std::map<std::string, int64_t>{
                          {"potential", 1}, {"new", 2}, {"repeat", 1}}));
  // C buys for the first time; B comes back after 301 silent days — more
  // than the 180-day minimum churn gap — so B is won back.
  Fold({Buy("c1", "C", 320, 1000, 500), Buy("b8", "B", 321, 1000, 500)});
  EXPECT_EQ(counts(), (std::map<std::string, int64_t>{
                          {"new", 2}, {"repeat", 1}, {"won_back", 1}}));
}

TEST_F(SegmentQueriesTest, SegmentSummaryNamesInvalidFields) {
  v1::SegmentSummaryResponse response;
  v1::SegmentSummaryRequest request;
  ExpectInvalid(Summary(request, &response), "dimension");
  request.set_dimension(static_cast<v1::Dimension>(77));
  ExpectInvalid(Summary(request, &response), "dimension");
  request.set_dimension(v1::DIMENSION_REGION);
  *request.mutable_from() = Day(100);
  *request.mutable_to() = Day(10);
  ExpectInvalid(Summary(request, &response), "from");
  *request.mutable_from() = Day(0);
  *request.mutable_to() = Day(366 * 11);
  ExpectInvalid(Summary(request, &response), "to");
}

TEST_F(SegmentQueriesTest, TimelineIsNewestFirstAndPagesWithATypeFilter) {
  v1::TimelineRequest request;
  request.set_customer_id("A");
  v1::TimelineResponse response;
  ASSERT_TRUE(Timeline(request, &response).ok());
  std::vector<std::string> ids;
  for (const auto& e : response.events()) ids.push_back(e.event().event_id());
  EXPECT_THAT(ids, ElementsAre("a5", "a4", "a3", "a2", "a1", "a0"));
  EXPECT_EQ(response.events(0).position().offset(), 5);
  EXPECT_EQ(response.events(0).position().event_id(), "a5");
  EXPECT_TRUE(response.events(0).event().has_order_placed());

  request.add_event_types("order_placed");
  request.set_page_size(3);
  response.Clear();
  ASSERT_TRUE(Timeline(request, &response).ok());
  ids.clear();
  for (const auto& e : response.events()) ids.push_back(e.event().event_id());
  EXPECT_THAT(ids, ElementsAre("a5", "a4", "a3"));
  ASSERT_FALSE(response.next_page_token().empty());
  request.set_page_token(response.next_page_token());
  response.Clear();
  ASSERT_TRUE(Timeline(request, &response).ok());
  ids.clear();
  for (const auto& e : response.events()) ids.push_back(e.event().event_id());
  EXPECT_THAT(ids, ElementsAre("a1"));
  EXPECT_EQ(response.next_page_token(), "");
}

TEST_F(SegmentQueriesTest, TimelineNamesInvalidFields) {
  v1::TimelineResponse response;
  v1::TimelineRequest request;
  ExpectInvalid(Timeline(request, &response), "customer_id");
  request.set_customer_id("A");
  request.add_event_types("order_shipped");
  ExpectInvalid(Timeline(request, &response), "event_types[0]");
  request.clear_event_types();
  request.add_event_types("customer_id");  // a field, but not a payload
  ExpectInvalid(Timeline(request, &response), "event_types[0]");
  request.clear_event_types();
  request.set_page_size(5000);
  ExpectInvalid(Timeline(request, &response), "page_size");
  request.set_page_size(10);
  request.set_page_token("%%%");
  ExpectInvalid(Timeline(request, &response), "page_token");
  request.set_page_token("");
  request.set_customer_id("nobody");
  EXPECT_EQ(Timeline(request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SegmentQueriesTest, SatisfactionReportByMonth) {
  v1::SatisfactionReportRequest request;
  *request.mutable_from() = Day(0);
  *request.mutable_to() = Day(40);
  v1::SatisfactionReportResponse response;
  grpc::Status s = Satisfaction(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.months_size(), 2);

  const v1::SatisfactionMonth& jan = response.months(0);
  EXPECT_EQ(jan.month(), "2025-01");
  EXPECT_EQ(jan.group(), "all");
  EXPECT_EQ(jan.nps_answers(), 1);
  EXPECT_DOUBLE_EQ(jan.nps(), -100);  // B answered 3: a detractor
  EXPECT_EQ(jan.csat_answers(), 1);
  EXPECT_DOUBLE_EQ(jan.csat_mean(), 2);
  EXPECT_EQ(jan.purchases(), 2);  // A day 10, B day 20
  EXPECT_EQ(jan.complaints(), 1);
  EXPECT_DOUBLE_EQ(jan.complaint_rate(), 0.5);
  EXPECT_EQ(jan.resolutions(), 1);
  EXPECT_DOUBLE_EQ(jan.mean_resolution_hours(), 24);
  // CSAT (2-1)/4 = 25, NPS 3/10 = 30, complaints 1 - 0.5 = 50, resolution
  // 100 (resolved, within the SLA), repurchase 0 (both were first
  // purchases), returns 100; weights 30/20/20/15/10/5.
  ASSERT_TRUE(jan.has_csi());
  EXPECT_NEAR(jan.csi(), 0.3 * 25 + 0.2 * 30 + 0.2 * 50 + 0.15 * 100 +
                             0.1 * 0 + 0.05 * 100,
              1e-9);

  const v1::SatisfactionMonth& feb = response.months(1);
  EXPECT_EQ(feb.month(), "2025-02");
  EXPECT_DOUBLE_EQ(feb.nps(), 100);  // A answered 10
  EXPECT_DOUBLE_EQ(feb.csat_mean(), 5);
  EXPECT_EQ(feb.purchases(), 1);  // D day 40
  EXPECT_DOUBLE_EQ(feb.complaint_rate(), 0);
  // No complaint and no resolution: that component drops out.
  EXPECT_NEAR(feb.csi(), (0.3 * 100 + 0.2 * 100 + 0.2 * 100 + 0.1 * 0 +
                          0.05 * 100) /
                             0.85,
              1e-9);

  request.set_split(v1::REPORT_SPLIT_RELATIONSHIP_TYPE);
  response.Clear();
  ASSERT_TRUE(Satisfaction(request, &response).ok());
  std::vector<std::string> rows;
  for (const auto& m : response.months()) {
    rows.push_back(absl::StrCat(m.month(), " ", m.group(), " ",
                                m.purchases(), " ", m.nps_answers()));
  }
  EXPECT_THAT(rows, ElementsAre("2025-01 business 1 0",
                                "2025-01 retail_consumer 1 1",
                                "2025-02 business 0 1",
                                "2025-02 distributor 1 0"));
}

TEST_F(SegmentQueriesTest, SatisfactionReportNamesInvalidFields) {
  v1::SatisfactionReportResponse response;
  v1::SatisfactionReportRequest request;
  request.set_split(static_cast<v1::ReportSplit>(9));
  ExpectInvalid(Satisfaction(request, &response), "split");
  request.clear_split();
  *request.mutable_from() = Day(40);
  *request.mutable_to() = Day(0);
  ExpectInvalid(Satisfaction(request, &response), "from");
  request.mutable_from()->set_nanos(-5);
  ExpectInvalid(Satisfaction(request, &response), "from");
}

}  // namespace
}  // namespace kehu::query
