// Explain through a real gRPC client, over events folded by the real
// projector and a population measured by the real population step: the
// explanation names the events that decided a classification, compares
// against the population's thresholds, and agrees with GetCustomer.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "infra/embedded_log.h"
#include "infra/projection_store.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "projections/partition_projector.h"
#include "projections/population.h"
#include "query/query_service.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/query_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::query {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using namespace kehu::testing;  // event builders
namespace v1 = query::v1;

constexpr int64_t kDay0 = 1735689600;  // 2025-01-01T00:00:00Z
constexpr int kToday = 400;            // the server's clock and the fit's as_of

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

// The event set, as of day 400 (trailing year: days 35..400):
//   K  orders on days 10, 100, 200, 300 (margin 20000 each), the day-200
//      order returned on day 210, a survey on day 50: the key customer
//   R  orders on days 20 and 60 (margin 1000 each): repeat
//   C  one order on day 30 (margin 500), silent since: churned by the gap
//   S  one order on day 20 (margin 3000), a complaint on day 25 resolved
//      on day 26, a survey on day 30, a complaint on day 70 still open, a
//      call on day 71; orders on days 390 and 395 keep S active
//   P1..P4 one order each in the trailing year (margin 5000 each)
// Seven customers are active: K is the key tier (top 5%, rounded up), two
// of the P's the potential tier, so the potential cutoff is 5000. The
// lifetime-value models are left out, so P(alive) is unknown unless a test
// puts a model in.
class CustomerExplanationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_,
                         infra::ProjectionStore::Open(dir_.Sub("store"), {}));
    infra::EmbeddedLogOptions log_options;
    log_options.partitions = 1;
    ASSERT_OK_AND_ASSIGN(
        log_, infra::EmbeddedLog::Open(dir_.Sub("log"), log_options));
    ASSERT_OK_AND_ASSIGN(
        projector_, projections::PartitionProjector::Create(store_.get(), 0));
    QueryServiceOptions options;
    options.clock = [] {
      return absl::FromUnixSeconds(kDay0 + int64_t{kToday} * 86400);
    };
    service_ = std::make_unique<QueryService>(store_.get(), log_.get(), options);
    server_ = std::make_unique<testing::QueryServer>(service_.get());
    stub_ = server_->NewStub();

    events::v1::Event k3 = Order("k3", "K", 200, "O-k3",
                                 {{"a", 1, 30000, 10000}, {"b", 1, 5000, 0}});
    Fold({
        Buy("k1", "K", 10, 30000, 10000),
        Survey("k0", "K", 50, 5, 9),
        Buy("k2", "K", 100, 30000, 10000),
        k3,
        Returned("k5", "K", 210, "O-k3", {{"b", 1}}),
        Buy("k4", "K", 300, 30000, 10000),
        Buy("r1", "R", 20, 2000, 1000),
        Buy("r2", "R", 60, 2000, 1000),
        Buy("c1", "C", 30, 1000, 500),
        Buy("s1", "S", 20, 5000, 2000),
        Complaint("s2", "S", 25, "K1"),
        Resolved("s3", "S", 26, "K1", true),
        Survey("s4", "S", 30, 2, 3),
        Complaint("s5", "S", 70, "K2"),
        Call("s6", "S", 71),
        Buy("s7", "S", 390, 500, 400),
        Buy("s8", "S", 395, 500, 400),
        Buy("p1", "P1", 100, 6000, 1000),
        Buy("p2", "P2", 150, 6000, 1000),
        Buy("p3", "P3", 250, 6000, 1000),
        Buy("p4", "P4", 350, 6000, 1000),
        Call("q1", "Q", 5),
    });
    ASSERT_OK_AND_ASSIGN(
        projections::PopulationStepResult step,
        projections::RunPopulationStep(
            store_.get(),
            absl::FromUnixSeconds(kDay0 + int64_t{kToday} * 86400)));
    ASSERT_EQ(step.population.pyramid_key_customers(), 1);
    ASSERT_EQ(step.population.pyramid_potential_cutoff_minor(), 5000);
    step.population.clear_models();
    ASSERT_OK(store_->PutPopulation(step.population));
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

  grpc::Status Explain(const v1::ExplainRequest& request,
                       v1::ExplainResponse* response) {
    grpc::ClientContext context;
    return stub_->Explain(&context, request, response);
  }

  v1::ExplainResponse ExplainOk(const std::string& customer,
                                v1::Classification classification,
                                int as_of_day = -1) {
    v1::ExplainRequest request;
    request.set_customer_id(customer);
    request.set_classification(classification);
    if (as_of_day >= 0) *request.mutable_as_of() = Day(as_of_day);
    v1::ExplainResponse response;
    grpc::Status s = Explain(request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  v1::CustomerView Get(const std::string& customer, int as_of_day = -1) {
    v1::GetCustomerRequest request;
    request.set_customer_id(customer);
    if (as_of_day >= 0) *request.mutable_as_of() = Day(as_of_day);
    v1::CustomerView view;
    grpc::ClientContext context;
    grpc::Status s = stub_->GetCustomer(&context, request, &view);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return view;
  }

  static std::set<std::string> EventIds(const v1::ExplainResponse& r) {
    std::set<std::string> ids;
    for (const auto& e : r.events()) ids.insert(e.event_id());
    return ids;
  }

  // The comparison of `fact` against `threshold` in the deciding (last)
  // step; fails the test when there is none.
  static v1::ExplainedComparison Deciding(const v1::ExplainResponse& r,
                                          const std::string& threshold) {
    EXPECT_FALSE(r.rule().empty());
    if (r.rule().empty()) return {};
    const v1::RuleStep& last = r.rule(r.rule_size() - 1);
    EXPECT_TRUE(last.holds());
    EXPECT_EQ(last.outcome(), r.value());
    for (const auto& c : last.comparisons()) {
      if (c.threshold() == threshold) return c;
    }
    ADD_FAILURE() << "no comparison against " << threshold << " in "
                  << last.DebugString();
    return {};
  }

  static double FactValue(const v1::ExplainResponse& r,
                          const std::string& name) {
    for (const auto& f : r.facts()) {
      if (f.name() == name) return f.value();
    }
    ADD_FAILURE() << "no fact " << name;
    return -1;
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

TEST_F(CustomerExplanationTest, KeyTierNamesTheOrdersOfTheTrailingYear) {
  const v1::ExplainResponse r =
      ExplainOk("K", v1::CLASSIFICATION_PYRAMID_TIER);
  EXPECT_EQ(r.customer_id(), "K");
  EXPECT_EQ(r.classification(), v1::CLASSIFICATION_PYRAMID_TIER);
  EXPECT_EQ(r.value(), "key");
  EXPECT_EQ(r.currency(), "EUR");
  EXPECT_EQ(r.as_of().seconds(), Day(kToday).seconds());
  const auto population = store_->population();
  EXPECT_EQ(r.population_as_of().seconds(), Day(kToday).seconds());

  // The orders of days 100, 200 and 300 and the return of the day-200
  // order; not the day-10 order, nor the survey.
  EXPECT_EQ(EventIds(r), (std::set<std::string>{"k2", "k3", "k4", "k5"}));
  EXPECT_EQ(r.unlisted_events(), 0);
  EXPECT_TRUE(r.events_complete());
  // Latest in the log first, with type, time and position.
  ASSERT_EQ(r.events_size(), 4);
  EXPECT_EQ(r.events(0).event_id(), "k4");
  EXPECT_EQ(r.events(0).type(), "order_placed");
  EXPECT_EQ(r.events(0).occurred_at().seconds(), Day(300).seconds());
  EXPECT_EQ(r.events(0).position().offset(), 5);
  EXPECT_EQ(r.events(1).type(), "order_returned");

  // Compared against the population's key cutoff, which the margin of the
  // three orders (20000 + 25000 - 5000 returned + 20000) reaches.
  const v1::ExplainedComparison c = Deciding(r, "key cutoff");
  EXPECT_EQ(c.fact(), "trailing-year margin");
  EXPECT_EQ(c.value(), 60000);
  EXPECT_EQ(c.op(), ">=");
  EXPECT_EQ(c.threshold_value(),
            static_cast<double>(population->pyramid_key_cutoff_minor()));
  EXPECT_EQ(c.unit(), "money");
  EXPECT_EQ(c.source(), v1::THRESHOLD_SOURCE_POPULATION);
  EXPECT_TRUE(c.holds());
  EXPECT_EQ(FactValue(r, "purchases in the trailing year"), 3);
  EXPECT_EQ(Get("K").segments().pyramid_tier(), v1::PYRAMID_TIER_KEY);
}

TEST_F(CustomerExplanationTest, ARegularTierShowsTheCutoffsItMissed) {
  const v1::ExplainResponse r =
      ExplainOk("R", v1::CLASSIFICATION_PYRAMID_TIER, 100);
  EXPECT_EQ(r.value(), "regular");
  const auto population = store_->population();
  std::vector<std::string> outcomes;
  for (const auto& step : r.rule()) {
    outcomes.push_back(step.outcome());
    EXPECT_EQ(step.holds(), step.outcome() == "regular");
  }
  EXPECT_THAT(outcomes,
              ElementsAre("inactive", "key", "potential", "one_time", "regular"));
  const v1::RuleStep& key = r.rule(1);
  ASSERT_EQ(key.comparisons_size(), 2);
  EXPECT_EQ(key.comparisons(1).threshold_value(),
            static_cast<double>(population->pyramid_key_cutoff_minor()));
  EXPECT_FALSE(key.comparisons(1).holds());
  EXPECT_EQ(EventIds(r), (std::set<std::string>{"r1", "r2"}));
}

TEST_F(CustomerExplanationTest, AsOfInThePastExplainsAsOfThen) {
  // On day 250 K's trailing year holds the orders of days 10, 100 and 200.
  const v1::ExplainResponse r =
      ExplainOk("K", v1::CLASSIFICATION_PYRAMID_TIER, 250);
  const v1::CustomerView then = Get("K", 250);
  EXPECT_EQ(r.as_of().seconds(), Day(250).seconds());
  EXPECT_EQ(EventIds(r), (std::set<std::string>{"k1", "k2", "k3", "k5"}));
  EXPECT_EQ(FactValue(r, "trailing-year margin"), then.rfm().monetary_minor());
  EXPECT_EQ(FactValue(r, "trailing-year margin"), 60000);
  EXPECT_EQ(r.value(), "key");

  // R's stage on day 40: new, after the first purchase, although the
  // stored row has both purchases.
  v1::ExplainResponse stage =
      ExplainOk("R", v1::CLASSIFICATION_LIFECYCLE_STAGE, 40);
  EXPECT_EQ(stage.value(), "new");
  EXPECT_EQ(Get("R", 40).lifecycle().stage(), v1::LIFECYCLE_STAGE_NEW);
  EXPECT_EQ(EventIds(stage), (std::set<std::string>{"r1"}));

  // Before R's first event there was no R to explain.
  v1::ExplainRequest before;
  before.set_customer_id("R");
  before.set_classification(v1::CLASSIFICATION_LIFECYCLE_STAGE);
  *before.mutable_as_of() = Day(10);
  v1::ExplainResponse none;
  grpc::Status s = Explain(before, &none);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("as_of"));

  // Q called but never bought: potential, with no purchase behind it.
  stage = ExplainOk("Q", v1::CLASSIFICATION_LIFECYCLE_STAGE, 10);
  EXPECT_EQ(stage.value(), "potential");
  EXPECT_EQ(Get("Q", 10).lifecycle().stage(), v1::LIFECYCLE_STAGE_POTENTIAL);
  EXPECT_TRUE(stage.events().empty());
}

TEST_F(CustomerExplanationTest, LifecycleStageNamesTheDecidingPurchases) {
  // C bought once, on day 30: 370 silent days exceed the churn gap, which
  // for a single purchase comes from the population.
  v1::ExplainResponse r = ExplainOk("C", v1::CLASSIFICATION_LIFECYCLE_STAGE);
  EXPECT_EQ(r.value(), "churned");
  EXPECT_EQ(Get("C").lifecycle().stage(), v1::LIFECYCLE_STAGE_CHURNED);
  EXPECT_THAT(EventIds(r), UnorderedElementsAre("c1"));
  v1::ExplainedComparison c = Deciding(r, "churn gap");
  EXPECT_EQ(c.fact(), "days since the last purchase");
  EXPECT_DOUBLE_EQ(c.value(), 370);
  EXPECT_EQ(c.op(), ">");
  EXPECT_EQ(c.source(), v1::THRESHOLD_SOURCE_POPULATION);
  EXPECT_EQ(c.threshold_value(), FactValue(r, "churn gap"));

  // As of day 100, R has bought twice: repeat, by both purchases.
  r = ExplainOk("R", v1::CLASSIFICATION_LIFECYCLE_STAGE, 100);
  EXPECT_EQ(r.value(), "repeat");
  EXPECT_EQ(r.rule(0).outcome(), "potential");
  EXPECT_FALSE(r.rule(0).holds());
  c = Deciding(r, "");
  EXPECT_EQ(c.fact(), "purchases");
  EXPECT_EQ(c.value(), 2);
  EXPECT_EQ(EventIds(r), (std::set<std::string>{"r1", "r2"}));

  // Every purchase of K counts; a return changes no stage.
  r = ExplainOk("K", v1::CLASSIFICATION_LIFECYCLE_STAGE);
  EXPECT_EQ(EventIds(r), (std::set<std::string>{"k1", "k2", "k3", "k4"}));
}

TEST_F(CustomerExplanationTest, SatisfactionBandNamesSurveysComplaintsAndPurchases) {
  v1::ExplainResponse r =
      ExplainOk("S", v1::CLASSIFICATION_SATISFACTION_BAND, 80);
  const v1::CustomerView view = Get("S", 80);
  // CSAT 2 -> 25, NPS 3 -> 30, two complaints per purchase -> 0, one of
  // two complaints resolved in time -> 50, no repurchase -> 0, no return
  // -> 100.
  ASSERT_TRUE(view.satisfaction().has_index());
  EXPECT_LT(view.satisfaction().index(), 50);
  EXPECT_EQ(view.satisfaction().band(), v1::SATISFACTION_BAND_LOW);
  EXPECT_EQ(r.value(), "low");
  EXPECT_EQ(FactValue(r, "satisfaction index"), view.satisfaction().index());
  // The call is no part of the index.
  EXPECT_EQ(EventIds(r),
            (std::set<std::string>{"s1", "s2", "s3", "s4", "s5"}));
  std::vector<std::string> outcomes;
  for (const auto& step : r.rule()) outcomes.push_back(step.outcome());
  EXPECT_THAT(outcomes, ElementsAre("high", "medium", "low"));
  EXPECT_EQ(r.rule(1).comparisons(0).threshold_value(), 50);
  EXPECT_EQ(r.rule(1).comparisons(0).source(),
            v1::THRESHOLD_SOURCE_CONFIGURATION);

  // On day 28 the survey and the second complaint lie ahead.
  r = ExplainOk("S", v1::CLASSIFICATION_SATISFACTION_BAND, 28);
  EXPECT_EQ(EventIds(r), (std::set<std::string>{"s1", "s2", "s3"}));
}

TEST_F(CustomerExplanationTest, ChurnRiskBandComparesPAliveWithTheModel) {
  // Give the population a BG/NBD model, so that P(alive) is known.
  store::v1::PopulationModel population = *store_->population();
  auto* bg = population.mutable_models()->mutable_bg_nbd();
  bg->set_r(0.5);
  bg->set_alpha(5);
  bg->set_a(0.5);
  bg->set_b(2);
  population.mutable_models()->set_time_unit_days(7);
  ASSERT_OK(store_->PutPopulation(population));

  const v1::CustomerView view = Get("K");
  ASSERT_TRUE(view.segments().has_p_alive());
  const v1::ExplainResponse r =
      ExplainOk("K", v1::CLASSIFICATION_CHURN_RISK_BAND);
  EXPECT_EQ(r.value(),
            absl::AsciiStrToLower(v1::ChurnRiskBand_Name(
                                      view.segments().churn_risk_band())
                                      .substr(16)));
  EXPECT_NE(view.segments().churn_risk_band(), v1::CHURN_RISK_BAND_UNSPECIFIED);
  EXPECT_DOUBLE_EQ(FactValue(r, "P(alive)"), view.segments().p_alive());
  ASSERT_FALSE(r.rule().empty());
  EXPECT_EQ(r.rule(r.rule_size() - 1).outcome(), r.value());
  for (const auto& step : r.rule()) {
    for (const auto& c : step.comparisons()) {
      EXPECT_EQ(c.fact(), "P(alive)");
      EXPECT_DOUBLE_EQ(c.value(), view.segments().p_alive());
      EXPECT_EQ(c.holds(), step.holds());
    }
  }
  // Every purchase feeds the model; P(alive) depends on their times only,
  // so the return of the day-200 order is no part of it.
  EXPECT_EQ(EventIds(r), (std::set<std::string>{"k1", "k2", "k3", "k4"}));
}

TEST_F(CustomerExplanationTest, ValueMatrixCellComparesBothValuesWithTheirMedians) {
  store::v1::PopulationModel population = *store_->population();
  auto* bg = population.mutable_models()->mutable_bg_nbd();
  bg->set_r(0.5);
  bg->set_alpha(5);
  bg->set_a(0.5);
  bg->set_b(2);
  auto* gg = population.mutable_models()->mutable_gamma_gamma();
  gg->set_p(6);
  gg->set_q(4);
  gg->set_gamma(15);
  population.mutable_models()->set_time_unit_days(7);
  population.set_median_current_value_minor(1);
  population.set_median_potential_value_minor(1);
  ASSERT_OK(store_->PutPopulation(population));

  const v1::CustomerView view = Get("R");
  ASSERT_TRUE(view.value().has_current());
  ASSERT_TRUE(view.value().has_potential());
  const v1::ExplainResponse r =
      ExplainOk("R", v1::CLASSIFICATION_VALUE_MATRIX_CELL);
  EXPECT_EQ(r.value(), absl::AsciiStrToLower(v1::ValueMatrixCell_Name(
                                                 view.segments().matrix_cell())
                                                 .substr(18)));
  EXPECT_NE(r.value(), "unspecified");
  EXPECT_DOUBLE_EQ(FactValue(r, "current value"),
                   view.value().current_minor());
  EXPECT_DOUBLE_EQ(FactValue(r, "potential value"),
                   view.value().potential_minor());
  // The first step compares both values with the population's medians.
  ASSERT_FALSE(r.rule().empty());
  EXPECT_EQ(r.rule(0).outcome(), "vip");
  ASSERT_EQ(r.rule(0).comparisons_size(), 4);
  EXPECT_EQ(r.rule(0).comparisons(1).threshold(), "median current value");
  EXPECT_EQ(r.rule(0).comparisons(1).threshold_value(), 1);
  EXPECT_EQ(r.rule(0).comparisons(1).source(),
            v1::THRESHOLD_SOURCE_POPULATION);
  EXPECT_EQ(EventIds(r), (std::set<std::string>{"r1", "r2"}));
}

TEST_F(CustomerExplanationTest, ChurnRiskBandIsUnspecifiedWithoutAModel) {
  store::v1::PopulationModel population = *store_->population();
  population.mutable_models()->clear_bg_nbd();
  ASSERT_OK(store_->PutPopulation(population));
  const v1::ExplainResponse r =
      ExplainOk("K", v1::CLASSIFICATION_CHURN_RISK_BAND);
  EXPECT_EQ(r.value(), "unspecified");
  ASSERT_EQ(r.rule_size(), 1);
  EXPECT_THAT(r.rule(0).note(), ::testing::HasSubstr("P(alive) is unknown"));
  EXPECT_TRUE(r.events().empty());
}

TEST_F(CustomerExplanationTest, ListsAtMostMaxEventsAndCountsTheRest) {
  v1::ExplainRequest request;
  request.set_customer_id("K");
  request.set_classification(v1::CLASSIFICATION_PYRAMID_TIER);
  request.set_max_events(1);
  v1::ExplainResponse r;
  ASSERT_TRUE(Explain(request, &r).ok());
  ASSERT_EQ(r.events_size(), 1);
  EXPECT_EQ(r.events(0).event_id(), "k4");
  EXPECT_EQ(r.unlisted_events(), 3);
  EXPECT_TRUE(r.events_complete());
}

TEST_F(CustomerExplanationTest, ExplainNamesEveryInvalidField) {
  v1::ExplainResponse response;
  v1::ExplainRequest r;
  r.set_classification(v1::CLASSIFICATION_PYRAMID_TIER);
  ExpectInvalid(Explain(r, &response), "customer_id");
  r.set_customer_id(std::string(1000, 'x'));
  ExpectInvalid(Explain(r, &response), "customer_id");

  r.set_customer_id("K");
  r.set_classification(v1::CLASSIFICATION_UNSPECIFIED);
  ExpectInvalid(Explain(r, &response), "classification");
  r.set_classification(static_cast<v1::Classification>(99));
  ExpectInvalid(Explain(r, &response), "classification");

  r.set_classification(v1::CLASSIFICATION_LIFECYCLE_STAGE);
  *r.mutable_as_of() = Day(kToday + 1);
  ExpectInvalid(Explain(r, &response), "as_of");
  *r.mutable_as_of() = Day(100);
  r.mutable_as_of()->set_nanos(-1);
  ExpectInvalid(Explain(r, &response), "as_of");
  r.clear_as_of();

  r.set_max_events(-1);
  ExpectInvalid(Explain(r, &response), "max_events");
  r.set_max_events(1001);
  ExpectInvalid(Explain(r, &response), "max_events");
  r.set_max_events(0);

  r.set_customer_id("nobody");
  EXPECT_EQ(Explain(r, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  // A bad argument is named whether or not the customer exists.
  r.set_classification(static_cast<v1::Classification>(99));
  ExpectInvalid(Explain(r, &response), "classification");
  r.set_classification(v1::CLASSIFICATION_LIFECYCLE_STAGE);
  r.set_customer_id("K");
  EXPECT_TRUE(Explain(r, &response).ok());
}

}  // namespace
}  // namespace kehu::query
