#include "query/customer_view.h"

#include <cstdint>
#include <utility>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace kehu::query {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::Property;

// Microseconds since the epoch; distinct per field so that a field mapped
// from the wrong source shows.
constexpr int64_t kRegisteredUs = 1700000000123456;
constexpr int64_t kFirstInteractionUs = 1700000001000001;
constexpr int64_t kLastInteractionUs = 1700000002000002;
constexpr int64_t kFirstPurchaseUs = 1700000003000003;
constexpr int64_t kLastPurchaseUs = 1700000004000004;
constexpr int64_t kLifecycleSinceUs = 1700000005000005;

int64_t Micros(const google::protobuf::Timestamp& ts) {
  return TimeUtil::TimestampToMicroseconds(ts);
}

store::v1::CustomerState FullState() {
  store::v1::CustomerState s;
  s.set_customer_id("C42");
  s.set_registered(true);
  s.set_name("Ada Lovelace");
  s.set_relationship_type(events::v1::RELATIONSHIP_TYPE_BUSINESS);
  s.set_region("DE-BY");
  s.set_acquisition_channel(events::v1::ACQUISITION_CHANNEL_PARTNER);
  s.mutable_contact()->set_email("ada@example.com");
  s.mutable_contact()->set_phone("+49 89 1234");
  s.mutable_contact()->mutable_address()->set_city("Munich");
  s.set_registered_at_us(kRegisteredUs);
  s.set_first_interaction_at_us(kFirstInteractionUs);
  s.set_last_interaction_at_us(kLastInteractionUs);

  store::v1::InteractionCounts* c = s.mutable_counts();
  c->set_registrations(1);
  c->set_profile_updates(2);
  c->set_orders(3);
  c->set_cancellations(4);
  c->set_returns(5);
  c->set_payments(6);
  c->set_calls(7);
  c->set_emails(8);
  c->set_complaints(9);
  c->set_complaint_resolutions(10);
  c->set_surveys(11);

  const store::v1::OrderStatus statuses[] = {
      store::v1::ORDER_STATUS_PLACED,   store::v1::ORDER_STATUS_CANCELLED,
      store::v1::ORDER_STATUS_RETURNED, store::v1::ORDER_STATUS_RETURNED,
      store::v1::ORDER_STATUS_PLACED,   store::v1::ORDER_STATUS_RETURNED};
  for (store::v1::OrderStatus status : statuses) {
    s.add_orders()->set_status(status);
  }
  store::v1::CurrencyTotals* eur = s.add_totals();
  eur->set_currency("EUR");
  eur->set_revenue_minor(10001);
  eur->set_cost_minor(4002);
  eur->set_margin_minor(5999);
  eur->set_refunded_minor(303);
  eur->set_paid_minor(9004);
  store::v1::CurrencyTotals* gbp = s.add_totals();
  gbp->set_currency("GBP");
  gbp->set_revenue_minor(77);
  s.set_purchase_count(5);
  s.set_first_purchase_at_us(kFirstPurchaseUs);
  s.set_last_purchase_at_us(kLastPurchaseUs);

  s.set_lifecycle_stage(store::v1::LIFECYCLE_STAGE_REPEAT);
  s.set_lifecycle_since_us(kLifecycleSinceUs);
  store::v1::LifecycleTransition* t1 = s.add_transitions();
  t1->set_from(store::v1::LIFECYCLE_STAGE_POTENTIAL);
  t1->set_to(store::v1::LIFECYCLE_STAGE_NEW);
  t1->set_at_us(kFirstPurchaseUs);
  t1->set_event_id("e-first");
  store::v1::LifecycleTransition* t2 = s.add_transitions();
  t2->set_from(store::v1::LIFECYCLE_STAGE_NEW);
  t2->set_to(store::v1::LIFECYCLE_STAGE_REPEAT);
  t2->set_at_us(kLifecycleSinceUs);
  t2->set_event_id("e-second");

  store::v1::ComplaintRecord* open = s.add_complaints();
  open->set_complaint_id("K1");
  open->set_category("delivery");
  open->set_severity(events::v1::SEVERITY_HIGH);
  open->set_filed_at_us(kFirstInteractionUs);
  store::v1::ComplaintRecord* resolved = s.add_complaints();
  resolved->set_complaint_id("K2");
  resolved->set_filed_at_us(kFirstInteractionUs + 1);
  resolved->set_resolved_at_us(kLastInteractionUs);
  resolved->set_resolution("refund");
  s.set_open_complaints(1);

  s.set_last_partition(7);
  s.set_last_offset(123456789);
  s.set_last_event_id("e-last");
  return s;
}

TEST(CustomerViewTest, ProfileCarriesIdentityContactAndTimes) {
  const query::v1::CustomerView view = ToCustomerView(FullState());
  EXPECT_EQ(view.customer_id(), "C42");
  const query::v1::Profile& p = view.profile();
  EXPECT_TRUE(p.registered());
  EXPECT_EQ(p.name(), "Ada Lovelace");
  EXPECT_EQ(p.relationship_type(), events::v1::RELATIONSHIP_TYPE_BUSINESS);
  EXPECT_EQ(p.region(), "DE-BY");
  EXPECT_EQ(p.acquisition_channel(), events::v1::ACQUISITION_CHANNEL_PARTNER);
  EXPECT_EQ(p.contact().email(), "ada@example.com");
  EXPECT_EQ(p.contact().phone(), "+49 89 1234");
  EXPECT_EQ(p.contact().address().city(), "Munich");
  EXPECT_EQ(Micros(p.registered_at()), kRegisteredUs);
  EXPECT_EQ(Micros(p.first_interaction_at()), kFirstInteractionUs);
  EXPECT_EQ(Micros(p.last_interaction_at()), kLastInteractionUs);
}

TEST(CustomerViewTest, EveryInteractionCountIsCopied) {
  const query::v1::InteractionCounts c = ToCustomerView(FullState()).counts();
  EXPECT_EQ(c.registrations(), 1);
  EXPECT_EQ(c.profile_updates(), 2);
  EXPECT_EQ(c.orders(), 3);
  EXPECT_EQ(c.cancellations(), 4);
  EXPECT_EQ(c.returns(), 5);
  EXPECT_EQ(c.payments(), 6);
  EXPECT_EQ(c.calls(), 7);
  EXPECT_EQ(c.emails(), 8);
  EXPECT_EQ(c.complaints(), 9);
  EXPECT_EQ(c.complaint_resolutions(), 10);
  EXPECT_EQ(c.surveys(), 11);
}

TEST(CustomerViewTest, OrdersCountCancelledAndReturnedOrdersByStatus) {
  const query::v1::Orders o = ToCustomerView(FullState()).orders();
  EXPECT_EQ(o.purchase_count(), 5);
  // One order record is CANCELLED, three RETURNED; counts.cancellations (4)
  // and counts.returns (5) count events, not orders, and must not leak in.
  EXPECT_EQ(o.cancelled_count(), 1);
  EXPECT_EQ(o.returned_count(), 3);
  EXPECT_EQ(Micros(o.first_purchase_at()), kFirstPurchaseUs);
  EXPECT_EQ(Micros(o.last_purchase_at()), kLastPurchaseUs);
}

TEST(CustomerViewTest, OrdersCarryTheTotalsOfEveryCurrency) {
  const query::v1::Orders o = ToCustomerView(FullState()).orders();
  ASSERT_EQ(o.totals_size(), 2);
  const query::v1::MoneyTotals& eur = o.totals(0);
  EXPECT_EQ(eur.currency(), "EUR");
  EXPECT_EQ(eur.revenue_minor(), 10001);
  EXPECT_EQ(eur.cost_minor(), 4002);
  EXPECT_EQ(eur.margin_minor(), 5999);
  EXPECT_EQ(eur.refunded_minor(), 303);
  EXPECT_EQ(eur.paid_minor(), 9004);
  EXPECT_EQ(o.totals(1).currency(), "GBP");
  EXPECT_EQ(o.totals(1).revenue_minor(), 77);
}

TEST(CustomerViewTest, LifecycleCarriesStageSinceAndTransitions) {
  const query::v1::Lifecycle l = ToCustomerView(FullState()).lifecycle();
  EXPECT_EQ(l.stage(), query::v1::LIFECYCLE_STAGE_REPEAT);
  EXPECT_EQ(Micros(l.since()), kLifecycleSinceUs);
  ASSERT_EQ(l.transitions_size(), 2);
  EXPECT_EQ(l.transitions(0).from(), query::v1::LIFECYCLE_STAGE_POTENTIAL);
  EXPECT_EQ(l.transitions(0).to(), query::v1::LIFECYCLE_STAGE_NEW);
  EXPECT_EQ(Micros(l.transitions(0).at()), kFirstPurchaseUs);
  EXPECT_EQ(l.transitions(0).event_id(), "e-first");
  EXPECT_EQ(l.transitions(1).from(), query::v1::LIFECYCLE_STAGE_NEW);
  EXPECT_EQ(l.transitions(1).to(), query::v1::LIFECYCLE_STAGE_REPEAT);
  EXPECT_EQ(Micros(l.transitions(1).at()), kLifecycleSinceUs);
  EXPECT_EQ(l.transitions(1).event_id(), "e-second");
}

TEST(CustomerViewTest, ComplaintsListOnlyOpenOnesWithCounts) {
  const query::v1::Complaints c = ToCustomerView(FullState()).complaints();
  EXPECT_EQ(c.open_count(), 1);
  EXPECT_EQ(c.resolved_count(), 1);
  ASSERT_EQ(c.open_size(), 1);
  const query::v1::Complaint& k1 = c.open(0);
  EXPECT_EQ(k1.complaint_id(), "K1");
  EXPECT_EQ(k1.category(), "delivery");
  EXPECT_EQ(k1.severity(), events::v1::SEVERITY_HIGH);
  EXPECT_EQ(Micros(k1.filed_at()), kFirstInteractionUs);
  EXPECT_FALSE(k1.has_resolved_at());
}

TEST(CustomerViewTest, OpenComplaintsAreListedOldestFirst) {
  store::v1::CustomerState s;
  // Filing (log) order differs from business time order on purpose.
  const std::pair<const char*, int64_t> filed[] = {
      {"late", 3000}, {"early", 1000}, {"middle", 2000}, {"tie", 1000}};
  for (const auto& [id, at] : filed) {
    store::v1::ComplaintRecord* r = s.add_complaints();
    r->set_complaint_id(id);
    r->set_filed_at_us(at);
  }
  store::v1::ComplaintRecord* resolved = s.add_complaints();
  resolved->set_complaint_id("resolved");
  resolved->set_filed_at_us(500);
  resolved->set_resolved_at_us(600);

  const query::v1::Complaints c = ToCustomerView(s).complaints();
  EXPECT_THAT(
      c.open(),
      ElementsAre(Property(&query::v1::Complaint::complaint_id, "early"),
                  Property(&query::v1::Complaint::complaint_id, "tie"),
                  Property(&query::v1::Complaint::complaint_id, "middle"),
                  Property(&query::v1::Complaint::complaint_id, "late")));
  EXPECT_EQ(c.open_count(), 4);
  EXPECT_EQ(c.resolved_count(), 1);
}

TEST(CustomerViewTest, PositionNamesTheLastFoldedEvent) {
  const query::v1::LogPosition p = ToCustomerView(FullState()).position();
  EXPECT_EQ(p.partition(), 7);
  EXPECT_EQ(p.offset(), 123456789);
  EXPECT_EQ(p.event_id(), "e-last");
}

TEST(CustomerViewTest, ZeroTimesLeaveTimestampsUnset) {
  store::v1::CustomerState s;
  s.set_customer_id("C1");
  s.add_transitions()->set_event_id("e1");
  s.add_complaints()->set_complaint_id("K1");
  const query::v1::CustomerView view = ToCustomerView(s);
  EXPECT_FALSE(view.profile().has_registered_at());
  EXPECT_FALSE(view.profile().has_first_interaction_at());
  EXPECT_FALSE(view.profile().has_last_interaction_at());
  EXPECT_FALSE(view.orders().has_first_purchase_at());
  EXPECT_FALSE(view.orders().has_last_purchase_at());
  EXPECT_FALSE(view.lifecycle().has_since());
  EXPECT_FALSE(view.lifecycle().transitions(0).has_at());
  EXPECT_FALSE(view.complaints().open(0).has_filed_at());
  EXPECT_EQ(view.lifecycle().stage(), query::v1::LIFECYCLE_STAGE_UNSPECIFIED);
}

}  // namespace
}  // namespace kehu::query
