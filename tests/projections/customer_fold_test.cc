#include "projections/customer_fold.h"

#include "gtest/gtest.h"
#include "infra/event_validation.h"
#include "tests/projections/event_builders.h"

namespace kehu::projections {
namespace {

using store::v1::CustomerState;
using namespace kehu::testing;  // NOLINT: event builders

constexpr int64_t kDay0Us = int64_t{1735689600} * 1000000;
int64_t DayUs(int day) { return kDay0Us + int64_t{day} * 86400 * 1000000; }

// Folds events in order, as the projector would, checking each is valid.
CustomerState FoldAll(const std::vector<events::v1::Event>& events) {
  CustomerState state;
  int64_t offset = 0;
  for (const auto& e : events) {
    auto invalid = infra::ValidateEvent(e);
    EXPECT_FALSE(invalid.has_value())
        << invalid->field << ": " << invalid->reason;
    FoldEvent(e, EventPosition{3, offset++}, &state);
  }
  return state;
}

TEST(CustomerFoldTest, RegistrationFillsTheProfileAndMakesAPotentialCustomer) {
  CustomerState s = FoldAll({Registered("e1", "C1", 5)});
  EXPECT_EQ(s.customer_id(), "C1");
  EXPECT_TRUE(s.registered());
  EXPECT_EQ(s.name(), "Ada");
  EXPECT_EQ(s.relationship_type(), events::v1::RELATIONSHIP_TYPE_BUSINESS);
  EXPECT_EQ(s.region(), "north");
  EXPECT_EQ(s.acquisition_channel(), events::v1::ACQUISITION_CHANNEL_WEB);
  EXPECT_EQ(s.contact().email(), "ada@example.com");
  EXPECT_EQ(s.registered_at_us(), DayUs(5));
  EXPECT_EQ(s.first_interaction_at_us(), DayUs(5));
  EXPECT_EQ(s.counts().registrations(), 1);
  EXPECT_EQ(s.lifecycle_stage(), store::v1::LIFECYCLE_STAGE_POTENTIAL);
  EXPECT_EQ(s.lifecycle_since_us(), DayUs(5));
  EXPECT_EQ(s.last_partition(), 3);
  EXPECT_EQ(s.last_offset(), 0);
  EXPECT_EQ(s.last_event_id(), "e1");
}

TEST(CustomerFoldTest, ProfileUpdateChangesOnlyTheFieldsItSets) {
  auto update = MakeEvent("e2", "C1", 6);
  update.mutable_profile_updated()->set_region("south");
  CustomerState s = FoldAll({Registered("e1", "C1", 5), update});
  EXPECT_EQ(s.region(), "south");
  EXPECT_EQ(s.name(), "Ada");
  EXPECT_EQ(s.contact().email(), "ada@example.com");
  EXPECT_EQ(s.relationship_type(), events::v1::RELATIONSHIP_TYPE_BUSINESS);
  EXPECT_EQ(s.counts().profile_updates(), 1);
}

TEST(CustomerFoldTest, OrderAddsNetRevenueCostAndMargin) {
  // 3 x 1000 with 300 discount and cost 400 each; 2 x 500 with unknown cost.
  CustomerState s = FoldAll(
      {Order("e1", "C1", 1, "O1", {{"A", 3, 1000, 400, 300}, {"B", 2, 500}})});
  ASSERT_EQ(s.totals_size(), 1);
  EXPECT_EQ(s.totals(0).currency(), "EUR");
  EXPECT_EQ(s.totals(0).revenue_minor(), 2700 + 1000);
  EXPECT_EQ(s.totals(0).cost_minor(), 1200);
  // Margin where cost is known, revenue where it is not.
  EXPECT_EQ(s.totals(0).margin_minor(), 3700 - 1200);
  EXPECT_EQ(s.purchase_count(), 1);
  EXPECT_EQ(s.counts().orders(), 1);
  EXPECT_EQ(s.first_purchase_at_us(), DayUs(1));
  EXPECT_EQ(s.last_purchase_at_us(), DayUs(1));
  ASSERT_EQ(s.orders_size(), 1);
  EXPECT_FALSE(s.orders(0).cost_known());
}

TEST(CustomerFoldTest, FirstPurchaseMakesANewCustomer) {
  CustomerState s = FoldAll(
      {Registered("e1", "C1", 0), Order("e2", "C1", 3, "O1", {{"A", 1, 100}})});
  EXPECT_EQ(s.lifecycle_stage(), store::v1::LIFECYCLE_STAGE_NEW);
  EXPECT_EQ(s.lifecycle_since_us(), DayUs(3));
  ASSERT_EQ(s.transitions_size(), 2);
  EXPECT_EQ(s.transitions(1).from(), store::v1::LIFECYCLE_STAGE_POTENTIAL);
  EXPECT_EQ(s.transitions(1).to(), store::v1::LIFECYCLE_STAGE_NEW);
  EXPECT_EQ(s.transitions(1).event_id(), "e2");
}

TEST(CustomerFoldTest, SecondPurchaseMakesARepeatCustomer) {
  CustomerState s = FoldAll({Order("e1", "C1", 1, "O1", {{"A", 1, 100}}),
                             Order("e2", "C1", 9, "O2", {{"A", 1, 100}})});
  EXPECT_EQ(s.lifecycle_stage(), store::v1::LIFECYCLE_STAGE_REPEAT);
  EXPECT_EQ(s.lifecycle_since_us(), DayUs(9));
  EXPECT_EQ(s.purchase_count(), 2);
  EXPECT_EQ(s.last_purchase_at_us(), DayUs(9));
}

TEST(CustomerFoldTest, CancellationRemovesTheOrdersMoneyAndThePurchase) {
  CustomerState s = FoldAll({Order("e1", "C1", 1, "O1", {{"A", 1, 100, 60}}),
                             Order("e2", "C1", 2, "O2", {{"A", 2, 100, 60}}),
                             Cancelled("e3", "C1", 3, "O2")});
  EXPECT_EQ(s.totals(0).revenue_minor(), 100);
  EXPECT_EQ(s.totals(0).cost_minor(), 60);
  EXPECT_EQ(s.totals(0).margin_minor(), 40);
  EXPECT_EQ(s.purchase_count(), 1);
  EXPECT_EQ(s.last_purchase_at_us(), DayUs(1));
  EXPECT_EQ(s.counts().cancellations(), 1);
  EXPECT_EQ(s.orders(1).status(), store::v1::ORDER_STATUS_CANCELLED);
  // Back from repeat to new: the second purchase never happened.
  EXPECT_EQ(s.lifecycle_stage(), store::v1::LIFECYCLE_STAGE_NEW);
}

TEST(CustomerFoldTest, CancellingAnUnknownOrderOnlyCountsIt) {
  CustomerState s = FoldAll({Order("e1", "C1", 1, "O1", {{"A", 1, 100}}),
                             Cancelled("e2", "C1", 2, "O9")});
  EXPECT_EQ(s.totals(0).revenue_minor(), 100);
  EXPECT_EQ(s.purchase_count(), 1);
  EXPECT_EQ(s.counts().cancellations(), 1);
}

TEST(CustomerFoldTest, ReturnRefundsTheReturnedUnitsAndTakesBackTheirCost) {
  // Line A: 4 units, net 4000 - 400 = 3600, cost 500 each.
  CustomerState s =
      FoldAll({Order("e1", "C1", 1, "O1", {{"A", 4, 1000, 500, 400}}),
               Returned("e2", "C1", 5, "O1", {{"A", 1}})});
  EXPECT_EQ(s.totals(0).revenue_minor(), 3600 - 900);
  EXPECT_EQ(s.totals(0).cost_minor(), 2000 - 500);
  EXPECT_EQ(s.totals(0).refunded_minor(), 900);
  EXPECT_EQ(s.totals(0).margin_minor(), 2700 - 1500);
  EXPECT_EQ(s.orders(0).status(), store::v1::ORDER_STATUS_RETURNED);
  EXPECT_EQ(s.orders(0).lines(0).returned_quantity(), 1);
  EXPECT_EQ(s.counts().returns(), 1);
  // A return is still a purchase.
  EXPECT_EQ(s.purchase_count(), 1);
}

TEST(CustomerFoldTest, ReturnNeverRefundsMoreUnitsThanWereBought) {
  CustomerState s = FoldAll({Order("e1", "C1", 1, "O1", {{"A", 2, 1000, 500}}),
                             Returned("e2", "C1", 5, "O1", {{"A", 5}})});
  EXPECT_EQ(s.totals(0).revenue_minor(), 0);
  EXPECT_EQ(s.totals(0).cost_minor(), 0);
  EXPECT_EQ(s.orders(0).lines(0).returned_quantity(), 2);
}

TEST(CustomerFoldTest, StatedRefundWinsOverTheComputedOne) {
  auto ret = Returned("e2", "C1", 5, "O1", {{"A", 1}});
  ret.mutable_order_returned()->mutable_refund()->set_minor_units(250);
  ret.mutable_order_returned()->mutable_refund()->set_currency("EUR");
  CustomerState s =
      FoldAll({Order("e1", "C1", 1, "O1", {{"A", 2, 1000, 500}}), ret});
  EXPECT_EQ(s.totals(0).refunded_minor(), 250);
  EXPECT_EQ(s.totals(0).revenue_minor(), 1750);
}

TEST(CustomerFoldTest, PaymentAddsToThePaidTotalOfItsCurrency) {
  CustomerState s = FoldAll({Order("e1", "C1", 1, "O1", {{"A", 1, 1000}}),
                             Payment("e2", "C1", 20, 1000)});
  EXPECT_EQ(s.totals(0).paid_minor(), 1000);
  EXPECT_EQ(s.counts().payments(), 1);
  EXPECT_EQ(s.last_interaction_at_us(), DayUs(20));
}

TEST(CustomerFoldTest, OrdersInAnotherCurrencyKeepTheirOwnTotals) {
  CustomerState s =
      FoldAll({Order("e1", "C1", 1, "O1", {{"A", 1, 1000}}),
               Order("e2", "C1", 2, "O2", {{"A", 1, 700}}, "GBP")});
  ASSERT_EQ(s.totals_size(), 2);
  EXPECT_EQ(FindTotals(s, "EUR")->revenue_minor(), 1000);
  EXPECT_EQ(FindTotals(s, "GBP")->revenue_minor(), 700);
}

TEST(CustomerFoldTest, CallsAndEmailsAreCountedAsInteractions) {
  CustomerState s = FoldAll({Call("e1", "C1", 4), Email("e2", "C1", 2)});
  EXPECT_EQ(s.counts().calls(), 1);
  EXPECT_EQ(s.counts().emails(), 1);
  // Out-of-order business times: first and last are min and max.
  EXPECT_EQ(s.first_interaction_at_us(), DayUs(2));
  EXPECT_EQ(s.last_interaction_at_us(), DayUs(4));
  EXPECT_EQ(s.lifecycle_stage(), store::v1::LIFECYCLE_STAGE_POTENTIAL);
}

TEST(CustomerFoldTest, FiledComplaintIsOpenUntilResolved) {
  CustomerState s =
      FoldAll({Complaint("e1", "C1", 1, "K1"), Complaint("e2", "C1", 2, "K2"),
               Resolved("e3", "C1", 4, "K1", true)});
  EXPECT_EQ(s.open_complaints(), 1);
  ASSERT_EQ(s.complaints_size(), 2);
  EXPECT_EQ(s.complaints(0).resolved_at_us(), DayUs(4));
  EXPECT_EQ(s.complaints(0).resolution(), "refund");
  EXPECT_EQ(s.complaints(0).satisfied(), 1);
  EXPECT_EQ(s.complaints(0).severity(), events::v1::SEVERITY_HIGH);
  EXPECT_EQ(s.complaints(1).resolved_at_us(), 0);
  EXPECT_EQ(s.counts().complaints(), 2);
  EXPECT_EQ(s.counts().complaint_resolutions(), 1);
}

TEST(CustomerFoldTest, ResolvingAComplaintTwiceOrAnUnknownOneChangesNothing) {
  CustomerState s = FoldAll({Complaint("e1", "C1", 1, "K1"),
                             Resolved("e2", "C1", 2, "K1", false),
                             Resolved("e3", "C1", 3, "K1", true),
                             Resolved("e4", "C1", 3, "K7", true)});
  EXPECT_EQ(s.open_complaints(), 0);
  EXPECT_EQ(s.complaints(0).resolved_at_us(), DayUs(2));
  EXPECT_EQ(s.complaints(0).satisfied(), 2);
}

TEST(CustomerFoldTest, SurveyAnswersAreKeptInOrder) {
  auto only_nps = MakeEvent("e2", "C1", 3);
  only_nps.mutable_survey_answered()->set_nps(0);
  CustomerState s = FoldAll({Survey("e1", "C1", 1, 4, 9), only_nps});
  ASSERT_EQ(s.surveys_size(), 2);
  EXPECT_EQ(s.surveys(0).csat(), 4);
  EXPECT_EQ(s.surveys(0).nps(), 9);
  EXPECT_EQ(s.surveys(1).csat(), 0);
  EXPECT_EQ(s.surveys(1).nps(), 0);
  EXPECT_EQ(s.counts().surveys(), 2);
}

TEST(CustomerFoldTest, FoldingIsDeterministic) {
  std::vector<events::v1::Event> events = {
      Registered("e1", "C1", 0),
      Order("e2", "C1", 1, "O1", {{"A", 2, 999, 400}}),
      Returned("e3", "C1", 2, "O1", {{"A", 1}}), Complaint("e4", "C1", 2, "K1"),
      Survey("e5", "C1", 3, 2, 3)};
  EXPECT_EQ(FoldAll(events).SerializeAsString(),
            FoldAll(events).SerializeAsString());
}

}  // namespace
}  // namespace kehu::projections
