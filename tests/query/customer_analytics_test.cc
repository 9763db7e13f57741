#include "query/customer_analytics.h"

#include "gtest/gtest.h"
#include "infra/event_validation.h"
#include "projections/customer_fold.h"
#include "query/customer_view.h"
#include "tests/projections/event_builders.h"

namespace kehu::query {
namespace {

using namespace kehu::testing;  // NOLINT: event builders
using store::v1::CustomerState;

// Day 0 is 2025-01-01T00:00:00Z, as in the event builders.
absl::Time Day(double day) {
  return absl::FromUnixSeconds(1735689600) + absl::Hours(24 * day);
}

CustomerState Fold(const std::vector<events::v1::Event>& events) {
  CustomerState state;
  int64_t offset = 0;
  for (const auto& e : events) {
    EXPECT_FALSE(infra::ValidateEvent(e).has_value()) << e.event_id();
    projections::FoldEvent(e, projections::EventPosition{0, offset++}, &state);
  }
  return state;
}

query::v1::CustomerView Evaluate(const CustomerState& state, absl::Time as_of,
                                 const AnalyticsConfig& config = {}) {
  // As the query service does: the stored facts, then the evaluation.
  query::v1::CustomerView view = ToCustomerView(state);
  EvaluateCustomer(state, as_of, "EUR", store::v1::PopulationModel(), config,
                   &view);
  return view;
}

const query::v1::IndexComponent& Component(
    const google::protobuf::RepeatedPtrField<query::v1::IndexComponent>& all,
    const std::string& name) {
  for (const auto& c : all) {
    if (c.name() == name) return c;
  }
  ADD_FAILURE() << "no component " << name;
  return all.Get(0);
}

TEST(CustomerAnalyticsTest, RfmCountsOnlyPurchasesInTheTrailingWindow) {
  // Margins: O1 1000-400, O2 500 (cost unknown), O3 300-100.
  CustomerState s = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000, 400}}),
                          Order("e2", "C1", 200, "O2", {{"B", 1, 500}}),
                          Order("e3", "C1", 370, "O3", {{"A", 1, 300, 100}})});
  auto v = Evaluate(s, Day(380));
  EXPECT_TRUE(v.rfm().has_purchase());
  EXPECT_DOUBLE_EQ(v.rfm().recency_days(), 10);
  // O1 (day 0) is 380 days before as_of: outside the 365-day window.
  EXPECT_EQ(v.rfm().frequency(), 2);
  EXPECT_EQ(v.rfm().monetary_minor(), 500 + 200);
}

TEST(CustomerAnalyticsTest, EventsAfterAsOfAreIgnored) {
  CustomerState s =
      Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}}),
            Complaint("e2", "C1", 5, "K1"), Survey("e3", "C1", 6, 1, 0),
            Order("e4", "C1", 50, "O2", {{"A", 1, 1000}})});
  auto v = Evaluate(s, Day(3));
  EXPECT_EQ(v.rfm().frequency(), 1);
  EXPECT_EQ(v.complaints().sla_breaches(), 0);
  EXPECT_FALSE(Component(v.satisfaction().components(), "csat").weight() > 0);
}

TEST(CustomerAnalyticsTest, CustomerWithoutPurchaseHasNoRecency) {
  CustomerState s = Fold({Registered("e1", "C1", 0)});
  auto v = Evaluate(s, Day(10));
  EXPECT_FALSE(v.rfm().has_purchase());
  EXPECT_EQ(v.rfm().frequency(), 0);
  EXPECT_FALSE(v.satisfaction().has_index());
  EXPECT_FALSE(v.loyalty().has_index());
}

TEST(CustomerAnalyticsTest, ComplaintResolvedAfterTheSlaIsABreach) {
  // K1 resolved after 24 h, K2 after 72 h, K3 open for 3 days at as_of.
  auto k1 = Complaint("e1", "C1", 0, "K1");
  auto k2 = Complaint("e2", "C1", 1, "K2");
  k2.mutable_complaint_filed()->set_category("billing");
  auto k3 = Complaint("e3", "C1", 7, "K3");
  CustomerState s = Fold({k1, k2, Resolved("e4", "C1", 1, "K1", true),
                          Resolved("e5", "C1", 4, "K2", false), k3});
  auto v = Evaluate(s, Day(10));
  EXPECT_EQ(v.complaints().sla_breaches(), 2);
  EXPECT_DOUBLE_EQ(v.complaints().mean_resolution_hours(), (24 + 72) / 2.0);
  EXPECT_DOUBLE_EQ(v.complaints().oldest_open_age_hours(), 72);
  ASSERT_EQ(v.complaints().by_category_size(), 2);
  EXPECT_EQ(v.complaints().by_category(0).category(), "delivery");
  EXPECT_EQ(v.complaints().by_category(0).count(), 2);
  EXPECT_EQ(v.complaints().by_category(1).category(), "billing");
}

TEST(CustomerAnalyticsTest, ComplaintResolvedExactlyAtTheSlaIsNoBreach) {
  CustomerState s = Fold(
      {Complaint("e1", "C1", 0, "K1"), Resolved("e2", "C1", 2, "K1", true)});
  EXPECT_EQ(Evaluate(s, Day(10)).complaints().sla_breaches(), 0);
}

TEST(CustomerAnalyticsTest, SatisfactionRenormalisesTheComponentsPresent) {
  // Two purchases (one returned), one complaint resolved within the SLA,
  // one survey: CSAT 4, NPS 8.
  CustomerState s = Fold({Order("e1", "C1", 0, "O1", {{"A", 2, 1000, 400}}),
                          Order("e2", "C1", 10, "O2", {{"A", 1, 1000, 400}}),
                          Returned("e3", "C1", 12, "O2", {{"A", 1}}),
                          Complaint("e4", "C1", 12, "K1"),
                          Resolved("e5", "C1", 13, "K1", true),
                          Survey("e6", "C1", 14, 4, 8)});
  auto v = Evaluate(s, Day(20));
  const auto& sat = v.satisfaction();
  EXPECT_DOUBLE_EQ(Component(sat.components(), "csat").score(), 75);
  EXPECT_DOUBLE_EQ(Component(sat.components(), "nps").score(), 80);
  EXPECT_DOUBLE_EQ(Component(sat.components(), "complaint_rate").score(), 50);
  EXPECT_DOUBLE_EQ(Component(sat.components(), "resolution").score(), 100);
  EXPECT_DOUBLE_EQ(Component(sat.components(), "repurchase").score(), 50);
  EXPECT_DOUBLE_EQ(Component(sat.components(), "returns").score(), 50);
  // All present: the published weights as they are.
  const double expected =
      0.30 * 75 + 0.20 * 80 + 0.20 * 50 + 0.15 * 100 + 0.10 * 50 + 0.05 * 50;
  EXPECT_TRUE(sat.has_index());
  EXPECT_NEAR(sat.index(), expected, 1e-9);
  EXPECT_DOUBLE_EQ(sat.complaint_rate(), 0.5);
}

TEST(CustomerAnalyticsTest, SatisfactionOfAOneTimeBuyerWithoutSurveys) {
  CustomerState s = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}})});
  const auto view = Evaluate(s, Day(5));
  const auto& sat = view.satisfaction();
  // Present: complaint rate (100), repurchase (0), returns (100), with
  // weights 0.20, 0.10, 0.05 renormalised over 0.35.
  EXPECT_NEAR(sat.index(), (0.20 * 100 + 0.10 * 0 + 0.05 * 100) / 0.35, 1e-9);
  EXPECT_DOUBLE_EQ(Component(sat.components(), "csat").weight(), 0);
  EXPECT_NEAR(Component(sat.components(), "complaint_rate").weight(),
              0.20 / 0.35, 1e-12);
}

TEST(CustomerAnalyticsTest, SatisfactionBandsSplitTheIndexAt75And50) {
  // CSAT 5, NPS 10, one purchase: (30 + 20 + 20 + 0 + 5) / 0.85 = 88.2.
  CustomerState happy = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}}),
                              Survey("e2", "C1", 1, 5, 10)});
  EXPECT_EQ(Evaluate(happy, Day(5)).satisfaction().band(),
            query::v1::SATISFACTION_BAND_HIGH);
  // No survey: (20 + 0 + 5) / 0.35 = 71.4.
  CustomerState quiet = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}})});
  EXPECT_EQ(Evaluate(quiet, Day(5)).satisfaction().band(),
            query::v1::SATISFACTION_BAND_MEDIUM);
  AnalyticsConfig lower;
  lower.satisfaction_high_band = 70;
  EXPECT_EQ(Evaluate(quiet, Day(5), lower).satisfaction().band(),
            query::v1::SATISFACTION_BAND_HIGH);
  // CSAT 1, NPS 0: (0 + 0 + 20 + 0 + 5) / 0.85 = 29.4.
  CustomerState unhappy = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}}),
                                Survey("e2", "C1", 1, 1, 0)});
  EXPECT_EQ(Evaluate(unhappy, Day(5)).satisfaction().band(),
            query::v1::SATISFACTION_BAND_LOW);
  // No index, no band.
  CustomerState none = Fold({Registered("e1", "C1", 0)});
  EXPECT_EQ(Evaluate(none, Day(5)).satisfaction().band(),
            query::v1::SATISFACTION_BAND_UNSPECIFIED);
}

TEST(CustomerAnalyticsTest, BeforeTheFirstPurchaseTheStageIsPotential) {
  // The fold has seen the purchase of day 50; as of day 10 it lies ahead.
  CustomerState s = Fold({Registered("e1", "C1", 0),
                          Order("e2", "C1", 50, "O1", {{"A", 1, 1000}})});
  EXPECT_EQ(Evaluate(s, Day(10)).lifecycle().stage(),
            query::v1::LIFECYCLE_STAGE_POTENTIAL);
  EXPECT_EQ(Evaluate(s, Day(60)).lifecycle().stage(),
            query::v1::LIFECYCLE_STAGE_NEW);
}

TEST(CustomerAnalyticsTest, CustomerWhoseOnlyPurchaseWasReturnedHasNoValue) {
  CustomerState s = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000, 600}}),
                          Returned("e2", "C1", 3, "O1", {{"A", 1}})});
  auto v = Evaluate(s, Day(10));
  EXPECT_EQ(v.rfm().frequency(), 1);
  EXPECT_EQ(v.rfm().monetary_minor(), 0);
  EXPECT_EQ(v.value().historical_minor(), 0);
  EXPECT_EQ(v.profit().revenue_minor(), 0);
  EXPECT_DOUBLE_EQ(Component(v.satisfaction().components(), "returns").score(),
                   0);
}

TEST(CustomerAnalyticsTest, LoyaltyOfARegularRepeatBuyer) {
  // Four purchases 30 days apart, one at a discount; no complaints.
  CustomerState s =
      Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}}),
            Order("e2", "C1", 30, "O2", {{"A", 1, 1000, -1, 200}}),
            Order("e3", "C1", 60, "O3", {{"A", 1, 1000}}),
            Order("e4", "C1", 90, "O4", {{"A", 1, 1000}})});
  auto v = Evaluate(s, Day(100));
  const auto& l = v.loyalty();
  EXPECT_EQ(l.repeat_purchases(), 3);
  EXPECT_DOUBLE_EQ(Component(l.components(), "repeat_purchases").score(), 30);
  // Equal gaps: no variation.
  EXPECT_DOUBLE_EQ(Component(l.components(), "regularity").score(), 100);
  // 800 of 3800 bought at a discount.
  EXPECT_NEAR(l.discount_share(), 800.0 / 3800, 1e-12);
  // Everything in the last 180 days: rising from nothing.
  EXPECT_DOUBLE_EQ(Component(l.components(), "spend_trend").score(), 100);
  EXPECT_DOUBLE_EQ(l.tenure_days(), 100);
  EXPECT_DOUBLE_EQ(Component(l.components(), "stayed_after_complaint").weight(),
                   0);
}

TEST(CustomerAnalyticsTest, LoyaltyRewardsStayingAfterAComplaint) {
  CustomerState stayed = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}}),
                               Complaint("e2", "C1", 5, "K1"),
                               Order("e3", "C1", 40, "O2", {{"A", 1, 1000}})});
  CustomerState left = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}}),
                             Complaint("e2", "C1", 5, "K1")});
  EXPECT_DOUBLE_EQ(Component(Evaluate(stayed, Day(50)).loyalty().components(),
                             "stayed_after_complaint")
                       .score(),
                   100);
  EXPECT_DOUBLE_EQ(Component(Evaluate(left, Day(50)).loyalty().components(),
                             "stayed_after_complaint")
                       .score(),
                   0);
}

TEST(CustomerAnalyticsTest, CreditCountsOnTimeAndLatePayments) {
  auto on_time = Payment("e2", "C1", 10, 600);
  *on_time.mutable_payment_received()->mutable_due_at() =
      Order("x", "C1", 10, "x", {{"A", 1, 1}}).occurred_at();
  auto late = Payment("e3", "C1", 20, 400);
  *late.mutable_payment_received()->mutable_due_at() =
      Order("x", "C1", 14, "x", {{"A", 1, 1}}).occurred_at();
  CustomerState s =
      Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1500}}), on_time, late});
  const auto view = Evaluate(s, Day(30));
  const auto& c = view.credit();
  EXPECT_EQ(c.payments_with_due_date(), 2);
  EXPECT_DOUBLE_EQ(c.on_time_share(), 0.5);
  EXPECT_DOUBLE_EQ(c.mean_days_late(), 6);
  EXPECT_EQ(c.outstanding_minor(), 1500 - 1000);
}

TEST(CustomerAnalyticsTest, CostToServeCanMakeACustomerUnprofitable) {
  AnalyticsConfig config;
  config.call_cost_minor = 300;
  CustomerState s =
      Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000, 400}}),
            Call("e2", "C1", 1), Call("e3", "C1", 2), Email("e4", "C1", 3)});
  auto v = Evaluate(s, Day(5), config);
  EXPECT_EQ(v.profit().revenue_minor(), 1000);
  EXPECT_EQ(v.profit().cost_of_goods_minor(), 400);
  EXPECT_EQ(v.profit().cost_to_serve_minor(), 2 * 300 + 20);
  EXPECT_EQ(v.profit().profit_minor(), 1000 - 400 - 620);
  EXPECT_TRUE(v.profit().unprofitable());
  EXPECT_EQ(v.value().historical_minor(), 600);
}

TEST(CustomerAnalyticsTest, LifecycleSinceIsTheLastTransitionIntoTheStage) {
  // Repeat since day 10; churned 180 days after the last purchase.
  CustomerState s = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 1000}}),
                          Order("e2", "C1", 10, "O2", {{"A", 1, 1000}})});
  auto repeat = Evaluate(s, Day(20));
  EXPECT_EQ(repeat.lifecycle().stage(), query::v1::LIFECYCLE_STAGE_REPEAT);
  EXPECT_EQ(repeat.lifecycle().since().seconds(), absl::ToUnixSeconds(Day(10)));
  auto churned = Evaluate(s, Day(200));
  EXPECT_EQ(churned.lifecycle().stage(), query::v1::LIFECYCLE_STAGE_CHURNED);
  EXPECT_EQ(churned.lifecycle().since().seconds(),
            absl::ToUnixSeconds(Day(190)));
  ASSERT_EQ(churned.lifecycle().transitions_size(), 3);
  EXPECT_EQ(churned.lifecycle().transitions(2).to(),
            query::v1::LIFECYCLE_STAGE_CHURNED);
}

}  // namespace
}  // namespace kehu::query
