#include "projections/customer_fold.h"

#include <algorithm>

#include "infra/check.h"

namespace kehu::projections {
namespace {

using events::v1::Event;
using store::v1::ComplaintRecord;
using store::v1::CurrencyTotals;
using store::v1::CustomerState;
using store::v1::LifecycleStage;
using store::v1::OrderRecord;
using store::v1::OrderStatus;

int64_t ToMicros(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

CurrencyTotals* MutableTotals(CustomerState* state,
                              const std::string& currency) {
  for (auto& totals : *state->mutable_totals()) {
    if (totals.currency() == currency) return &totals;
  }
  CurrencyTotals* totals = state->add_totals();
  totals->set_currency(currency);
  return totals;
}

// Adds revenue and cost of goods (either may be negative) to the totals.
void AddMoney(CurrencyTotals* totals, int64_t revenue, int64_t cost) {
  totals->set_revenue_minor(totals->revenue_minor() + revenue);
  totals->set_cost_minor(totals->cost_minor() + cost);
  totals->set_margin_minor(totals->revenue_minor() - totals->cost_minor());
}

OrderRecord* FindOrder(CustomerState* state, const std::string& order_id) {
  // Newest first: cancellations and returns usually follow their order soon.
  auto* orders = state->mutable_orders();
  for (int i = orders->size() - 1; i >= 0; --i) {
    if (orders->Get(i).order_id() == order_id) return orders->Mutable(i);
  }
  return nullptr;
}

ComplaintRecord* FindComplaint(CustomerState* state,
                               const std::string& complaint_id) {
  for (auto& complaint : *state->mutable_complaints()) {
    if (complaint.complaint_id() == complaint_id) return &complaint;
  }
  return nullptr;
}

LifecycleStage StageFor(int64_t purchase_count) {
  if (purchase_count == 0) return store::v1::LIFECYCLE_STAGE_POTENTIAL;
  if (purchase_count == 1) return store::v1::LIFECYCLE_STAGE_NEW;
  return store::v1::LIFECYCLE_STAGE_REPEAT;
}

// Recomputes purchases from the orders (a cancellation can remove the
// first or the last one) and records a lifecycle transition when the stage
// changes.
void UpdatePurchasesAndLifecycle(const Event& event, CustomerState* state) {
  int64_t count = 0;
  int64_t first = 0;
  int64_t last = 0;
  for (const auto& order : state->orders()) {
    if (order.status() == store::v1::ORDER_STATUS_CANCELLED) continue;
    ++count;
    if (first == 0 || order.placed_at_us() < first)
      first = order.placed_at_us();
    last = std::max(last, order.placed_at_us());
  }
  state->set_purchase_count(count);
  state->set_first_purchase_at_us(first);
  state->set_last_purchase_at_us(last);

  const LifecycleStage stage = StageFor(count);
  if (stage == state->lifecycle_stage()) return;
  const int64_t at = ToMicros(event.occurred_at());
  auto* transition = state->add_transitions();
  transition->set_from(state->lifecycle_stage());
  transition->set_to(stage);
  transition->set_at_us(at);
  transition->set_event_id(event.event_id());
  state->set_lifecycle_stage(stage);
  state->set_lifecycle_since_us(at);
}

void FoldRegistered(const Event& event, CustomerState* state) {
  const auto& r = event.customer_registered();
  state->mutable_counts()->set_registrations(state->counts().registrations() +
                                             1);
  if (!state->registered()) {
    state->set_registered(true);
    state->set_registered_at_us(ToMicros(event.occurred_at()));
  }
  state->set_name(r.name());
  state->set_relationship_type(r.relationship_type());
  state->set_region(r.region());
  state->set_acquisition_channel(r.acquisition_channel());
  *state->mutable_contact() = r.contact();
}

void FoldProfileUpdated(const Event& event, CustomerState* state) {
  const auto& u = event.profile_updated();
  state->mutable_counts()->set_profile_updates(
      state->counts().profile_updates() + 1);
  if (u.has_name()) state->set_name(u.name());
  if (u.has_relationship_type())
    state->set_relationship_type(u.relationship_type());
  if (u.has_region()) state->set_region(u.region());
  if (u.has_contact()) *state->mutable_contact() = u.contact();
}

void FoldOrderPlaced(const Event& event, CustomerState* state) {
  const auto& o = event.order_placed();
  state->mutable_counts()->set_orders(state->counts().orders() + 1);
  // A re-used order id (not a re-sent event: those are deduplicated before
  // folding) is a producer error we cannot resolve; the first order wins.
  if (FindOrder(state, o.order_id()) != nullptr) return;

  OrderRecord* order = state->add_orders();
  order->set_order_id(o.order_id());
  order->set_placed_at_us(ToMicros(event.occurred_at()));
  order->set_currency(o.currency());
  order->set_status(store::v1::ORDER_STATUS_PLACED);
  bool cost_known = true;
  for (const auto& line : o.lines()) {
    auto* record = order->add_lines();
    record->set_sku(line.sku());
    record->set_category(line.category());
    record->set_quantity(line.quantity());
    const int64_t net =
        line.quantity() * line.unit_price_minor() - line.discount_minor();
    record->set_net_minor(net);
    record->set_discount_minor(line.discount_minor());
    order->set_revenue_minor(order->revenue_minor() + net);
    if (line.has_unit_cost_minor()) {
      record->set_unit_cost_minor(line.unit_cost_minor());
      record->set_cost_known(true);
      order->set_cost_minor(order->cost_minor() +
                            line.quantity() * line.unit_cost_minor());
    } else {
      cost_known = false;
    }
  }
  order->set_cost_known(cost_known);
  AddMoney(MutableTotals(state, o.currency()), order->revenue_minor(),
           order->cost_minor());
  UpdatePurchasesAndLifecycle(event, state);
}

void FoldOrderCancelled(const Event& event, CustomerState* state) {
  state->mutable_counts()->set_cancellations(state->counts().cancellations() +
                                             1);
  OrderRecord* order = FindOrder(state, event.order_cancelled().order_id());
  // Cancelling an unknown or already cancelled order changes no money.
  if (order == nullptr ||
      order->status() == store::v1::ORDER_STATUS_CANCELLED) {
    return;
  }
  // Whatever was not yet refunded leaves the totals.
  AddMoney(MutableTotals(state, order->currency()),
           -(order->revenue_minor() - order->refunded_minor()),
           -(order->cost_minor() - order->returned_cost_minor()));
  order->set_status(store::v1::ORDER_STATUS_CANCELLED);
  UpdatePurchasesAndLifecycle(event, state);
}

void FoldOrderReturned(const Event& event, CustomerState* state) {
  const auto& r = event.order_returned();
  state->mutable_counts()->set_returns(state->counts().returns() + 1);
  OrderRecord* order = FindOrder(state, r.order_id());
  if (order == nullptr ||
      order->status() == store::v1::ORDER_STATUS_CANCELLED) {
    // Without the order we know no cost; the refund still left our hands.
    if (r.has_refund() && r.refund().minor_units() > 0) {
      CurrencyTotals* totals = MutableTotals(state, r.refund().currency());
      AddMoney(totals, -r.refund().minor_units(), 0);
      totals->set_refunded_minor(totals->refunded_minor() +
                                 r.refund().minor_units());
    }
    return;
  }
  int64_t line_refund = 0;
  int64_t returned_cost = 0;
  for (const auto& returned : r.lines()) {
    int64_t remaining = returned.quantity();
    for (auto& line : *order->mutable_lines()) {
      if (remaining == 0) break;
      if (line.sku() != returned.sku()) continue;
      const int64_t units =
          std::min(remaining, line.quantity() - line.returned_quantity());
      if (units <= 0) continue;
      line.set_returned_quantity(line.returned_quantity() + units);
      line_refund += line.net_minor() * units / line.quantity();
      if (line.cost_known()) returned_cost += units * line.unit_cost_minor();
      remaining -= units;
    }
  }
  // The refund the source states wins over the one computed from lines,
  // when it is in the order's currency.
  int64_t refund = line_refund;
  if (r.has_refund() && r.refund().currency() == order->currency()) {
    refund = r.refund().minor_units();
  }
  refund = std::min(refund, order->revenue_minor() - order->refunded_minor());
  order->set_refunded_minor(order->refunded_minor() + refund);
  order->set_returned_cost_minor(order->returned_cost_minor() + returned_cost);
  order->set_status(store::v1::ORDER_STATUS_RETURNED);
  CurrencyTotals* totals = MutableTotals(state, order->currency());
  AddMoney(totals, -refund, -returned_cost);
  totals->set_refunded_minor(totals->refunded_minor() + refund);
}

void FoldPaymentReceived(const Event& event, CustomerState* state) {
  const auto& p = event.payment_received();
  state->mutable_counts()->set_payments(state->counts().payments() + 1);
  CurrencyTotals* totals = MutableTotals(state, p.amount().currency());
  totals->set_paid_minor(totals->paid_minor() + p.amount().minor_units());
  if (p.has_due_at()) {
    state->set_payments_with_due_date(state->payments_with_due_date() + 1);
    const int64_t late_seconds =
        event.occurred_at().seconds() - p.due_at().seconds();
    if (late_seconds <= 0) {
      state->set_payments_on_time(state->payments_on_time() + 1);
    } else {
      state->set_late_seconds_total(state->late_seconds_total() + late_seconds);
    }
  }
}

void FoldComplaintFiled(const Event& event, CustomerState* state) {
  const auto& c = event.complaint_filed();
  state->mutable_counts()->set_complaints(state->counts().complaints() + 1);
  if (FindComplaint(state, c.complaint_id()) != nullptr) return;
  ComplaintRecord* complaint = state->add_complaints();
  complaint->set_complaint_id(c.complaint_id());
  complaint->set_category(c.category());
  complaint->set_severity(c.severity());
  complaint->set_filed_at_us(ToMicros(event.occurred_at()));
  state->set_open_complaints(state->open_complaints() + 1);
}

void FoldComplaintResolved(const Event& event, CustomerState* state) {
  const auto& r = event.complaint_resolved();
  state->mutable_counts()->set_complaint_resolutions(
      state->counts().complaint_resolutions() + 1);
  ComplaintRecord* complaint = FindComplaint(state, r.complaint_id());
  // Resolving an unknown or already resolved complaint changes nothing.
  if (complaint == nullptr || complaint->resolved_at_us() != 0) return;
  // A resolution stamped before the filing is clamped, so a resolved
  // complaint always has a resolution time.
  complaint->set_resolved_at_us(
      std::max(ToMicros(event.occurred_at()), complaint->filed_at_us() + 1));
  complaint->set_resolution(r.resolution());
  if (r.has_customer_satisfied()) {
    complaint->set_satisfied(r.customer_satisfied() ? 1 : 2);
  }
  state->set_open_complaints(state->open_complaints() - 1);
}

void FoldSurveyAnswered(const Event& event, CustomerState* state) {
  const auto& s = event.survey_answered();
  state->mutable_counts()->set_surveys(state->counts().surveys() + 1);
  auto* survey = state->add_surveys();
  survey->set_answered_at_us(ToMicros(event.occurred_at()));
  survey->set_csat(s.has_csat() ? s.csat() : 0);
  survey->set_nps(s.has_nps() ? s.nps() : -1);
}

}  // namespace

const CurrencyTotals* FindTotals(const CustomerState& state,
                                 const std::string& currency) {
  for (const auto& totals : state.totals()) {
    if (totals.currency() == currency) return &totals;
  }
  return nullptr;
}

void FoldEvent(const Event& event, EventPosition position,
               CustomerState* state) {
  KEHU_CHECK(state->customer_id().empty() ||
             state->customer_id() == event.customer_id());
  state->set_customer_id(event.customer_id());

  const int64_t at = ToMicros(event.occurred_at());
  if (state->first_interaction_at_us() == 0 ||
      at < state->first_interaction_at_us()) {
    state->set_first_interaction_at_us(at);
  }
  state->set_last_interaction_at_us(
      std::max(state->last_interaction_at_us(), at));
  state->set_last_partition(position.partition);
  state->set_last_offset(position.offset);
  state->set_last_event_id(event.event_id());

  switch (event.payload_case()) {
    case Event::kCustomerRegistered:
      FoldRegistered(event, state);
      break;
    case Event::kProfileUpdated:
      FoldProfileUpdated(event, state);
      break;
    case Event::kOrderPlaced:
      FoldOrderPlaced(event, state);
      break;
    case Event::kOrderCancelled:
      FoldOrderCancelled(event, state);
      break;
    case Event::kOrderReturned:
      FoldOrderReturned(event, state);
      break;
    case Event::kPaymentReceived:
      FoldPaymentReceived(event, state);
      break;
    case Event::kCallLogged:
      state->mutable_counts()->set_calls(state->counts().calls() + 1);
      break;
    case Event::kEmailLogged:
      state->mutable_counts()->set_emails(state->counts().emails() + 1);
      break;
    case Event::kComplaintFiled:
      FoldComplaintFiled(event, state);
      break;
    case Event::kComplaintResolved:
      FoldComplaintResolved(event, state);
      break;
    case Event::kSurveyAnswered:
      FoldSurveyAnswered(event, state);
      break;
    case Event::PAYLOAD_NOT_SET:
      KEHU_CHECK(false);
      break;
  }
  // Any first event makes a customer a potential one.
  if (state->lifecycle_stage() == store::v1::LIFECYCLE_STAGE_UNSPECIFIED) {
    UpdatePurchasesAndLifecycle(event, state);
  }
}

}  // namespace kehu::projections
