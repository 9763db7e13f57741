#include "query/customer_view.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "google/protobuf/util/time_util.h"

namespace kehu::query {
namespace {

using google::protobuf::util::TimeUtil;

// Sets the Timestamp that `mutable_field()` returns to `micros`. 0 means
// "never" and must leave the field unset, which is why callers pass the
// accessor rather than its result (calling it would set the field).
template <typename MutableField>
void SetTime(int64_t micros, MutableField mutable_field) {
  if (micros == 0) return;
  *mutable_field() = TimeUtil::MicrosecondsToTimestamp(micros);
}

// The two enums share their numbering today; the switch keeps the API
// stable if the storage enum ever grows a stage the API does not have.
query::v1::LifecycleStage ToStage(store::v1::LifecycleStage stage) {
  switch (stage) {
    case store::v1::LIFECYCLE_STAGE_POTENTIAL:
      return query::v1::LIFECYCLE_STAGE_POTENTIAL;
    case store::v1::LIFECYCLE_STAGE_NEW:
      return query::v1::LIFECYCLE_STAGE_NEW;
    case store::v1::LIFECYCLE_STAGE_REPEAT:
      return query::v1::LIFECYCLE_STAGE_REPEAT;
    default:
      return query::v1::LIFECYCLE_STAGE_UNSPECIFIED;
  }
}

void MapProfile(const store::v1::CustomerState& s, query::v1::Profile* p) {
  p->set_registered(s.registered());
  p->set_name(s.name());
  p->set_relationship_type(s.relationship_type());
  p->set_region(s.region());
  p->set_acquisition_channel(s.acquisition_channel());
  if (s.has_contact()) *p->mutable_contact() = s.contact();
  SetTime(s.registered_at_us(), [p] { return p->mutable_registered_at(); });
  SetTime(s.first_interaction_at_us(),
          [p] { return p->mutable_first_interaction_at(); });
  SetTime(s.last_interaction_at_us(),
          [p] { return p->mutable_last_interaction_at(); });
}

void MapCounts(const store::v1::InteractionCounts& in,
               query::v1::InteractionCounts* out) {
  out->set_registrations(in.registrations());
  out->set_profile_updates(in.profile_updates());
  out->set_orders(in.orders());
  out->set_cancellations(in.cancellations());
  out->set_returns(in.returns());
  out->set_payments(in.payments());
  out->set_calls(in.calls());
  out->set_emails(in.emails());
  out->set_complaints(in.complaints());
  out->set_complaint_resolutions(in.complaint_resolutions());
  out->set_surveys(in.surveys());
}

void MapOrders(const store::v1::CustomerState& s, query::v1::Orders* o) {
  o->set_purchase_count(s.purchase_count());
  int64_t cancelled = 0;
  int64_t returned = 0;
  for (const store::v1::OrderRecord& order : s.orders()) {
    if (order.status() == store::v1::ORDER_STATUS_CANCELLED) ++cancelled;
    if (order.status() == store::v1::ORDER_STATUS_RETURNED) ++returned;
  }
  o->set_cancelled_count(cancelled);
  o->set_returned_count(returned);
  for (const store::v1::CurrencyTotals& t : s.totals()) {
    query::v1::MoneyTotals* m = o->add_totals();
    m->set_currency(t.currency());
    m->set_revenue_minor(t.revenue_minor());
    m->set_cost_minor(t.cost_minor());
    m->set_margin_minor(t.margin_minor());
    m->set_refunded_minor(t.refunded_minor());
    m->set_paid_minor(t.paid_minor());
  }
  SetTime(s.first_purchase_at_us(),
          [o] { return o->mutable_first_purchase_at(); });
  SetTime(s.last_purchase_at_us(),
          [o] { return o->mutable_last_purchase_at(); });
}

void MapLifecycle(const store::v1::CustomerState& s, query::v1::Lifecycle* l) {
  l->set_stage(ToStage(s.lifecycle_stage()));
  SetTime(s.lifecycle_since_us(), [l] { return l->mutable_since(); });
  for (const store::v1::LifecycleTransition& t : s.transitions()) {
    query::v1::LifecycleTransition* out = l->add_transitions();
    out->set_from(ToStage(t.from()));
    out->set_to(ToStage(t.to()));
    SetTime(t.at_us(), [out] { return out->mutable_at(); });
    out->set_event_id(t.event_id());
  }
}

void MapComplaints(const store::v1::CustomerState& s,
                   query::v1::Complaints* c) {
  // Records are in filing (log) order, but business times need not be
  // monotonic across sources: sort by filing time, keeping log order on ties.
  std::vector<const store::v1::ComplaintRecord*> open;
  int64_t resolved = 0;
  for (const store::v1::ComplaintRecord& r : s.complaints()) {
    if (r.resolved_at_us() == 0) {
      open.push_back(&r);
    } else {
      ++resolved;
    }
  }
  std::stable_sort(open.begin(), open.end(),
                   [](const store::v1::ComplaintRecord* a,
                      const store::v1::ComplaintRecord* b) {
                     return a->filed_at_us() < b->filed_at_us();
                   });
  c->set_open_count(static_cast<int64_t>(open.size()));
  c->set_resolved_count(resolved);
  for (const store::v1::ComplaintRecord* r : open) {
    query::v1::Complaint* out = c->add_open();
    out->set_complaint_id(r->complaint_id());
    out->set_category(r->category());
    out->set_severity(r->severity());
    SetTime(r->filed_at_us(), [out] { return out->mutable_filed_at(); });
  }
}

}  // namespace

query::v1::CustomerView ToCustomerView(const store::v1::CustomerState& state) {
  query::v1::CustomerView view;
  view.set_customer_id(state.customer_id());
  MapProfile(state, view.mutable_profile());
  MapCounts(state.counts(), view.mutable_counts());
  MapOrders(state, view.mutable_orders());
  MapLifecycle(state, view.mutable_lifecycle());
  MapComplaints(state, view.mutable_complaints());
  query::v1::LogPosition* position = view.mutable_position();
  position->set_partition(state.last_partition());
  position->set_offset(state.last_offset());
  position->set_event_id(state.last_event_id());
  return view;
}

}  // namespace kehu::query
