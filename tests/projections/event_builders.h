// Small builders of valid events for projection tests.
#ifndef KEHU_TESTS_PROJECTIONS_EVENT_BUILDERS_H_
#define KEHU_TESTS_PROJECTIONS_EVENT_BUILDERS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kehu/events/v1/events.pb.h"

namespace kehu::testing {

// An event of `customer` at day `day` (days since 2025-01-01, UTC) with no
// payload yet.
inline events::v1::Event MakeEvent(const std::string& event_id,
                                   const std::string& customer, int day) {
  events::v1::Event e;
  e.set_event_id(event_id);
  e.set_customer_id(customer);
  e.mutable_occurred_at()->set_seconds(1735689600 + int64_t{day} * 86400);
  e.set_source("test");
  return e;
}

inline events::v1::Event Registered(const std::string& id,
                                    const std::string& customer, int day,
                                    const std::string& name = "Ada") {
  auto e = MakeEvent(id, customer, day);
  auto* r = e.mutable_customer_registered();
  r->set_name(name);
  r->set_relationship_type(events::v1::RELATIONSHIP_TYPE_BUSINESS);
  r->set_region("north");
  r->set_acquisition_channel(events::v1::ACQUISITION_CHANNEL_WEB);
  r->mutable_contact()->set_email("ada@example.com");
  return e;
}

struct Line {
  std::string sku;
  int64_t quantity;
  int64_t unit_price;
  int64_t unit_cost = -1;  // -1: unknown
  int64_t discount = 0;
};

inline events::v1::Event Order(const std::string& id,
                               const std::string& customer, int day,
                               const std::string& order_id,
                               const std::vector<Line>& lines,
                               const std::string& currency = "EUR") {
  auto e = MakeEvent(id, customer, day);
  auto* o = e.mutable_order_placed();
  o->set_order_id(order_id);
  o->set_currency(currency);
  for (const auto& line : lines) {
    auto* l = o->add_lines();
    l->set_sku(line.sku);
    l->set_category("cat-" + line.sku);
    l->set_quantity(line.quantity);
    l->set_unit_price_minor(line.unit_price);
    if (line.unit_cost >= 0) l->set_unit_cost_minor(line.unit_cost);
    l->set_discount_minor(line.discount);
  }
  return e;
}

inline events::v1::Event Cancelled(const std::string& id,
                                   const std::string& customer, int day,
                                   const std::string& order_id) {
  auto e = MakeEvent(id, customer, day);
  e.mutable_order_cancelled()->set_order_id(order_id);
  return e;
}

inline events::v1::Event Returned(
    const std::string& id, const std::string& customer, int day,
    const std::string& order_id,
    const std::vector<std::pair<std::string, int64_t>>& lines) {
  auto e = MakeEvent(id, customer, day);
  auto* r = e.mutable_order_returned();
  r->set_order_id(order_id);
  r->set_return_id("R-" + id);
  for (const auto& [sku, quantity] : lines) {
    auto* l = r->add_lines();
    l->set_sku(sku);
    l->set_quantity(quantity);
  }
  return e;
}

inline events::v1::Event Payment(const std::string& id,
                                 const std::string& customer, int day,
                                 int64_t amount) {
  auto e = MakeEvent(id, customer, day);
  auto* p = e.mutable_payment_received();
  p->set_invoice_id("INV-" + id);
  p->mutable_amount()->set_minor_units(amount);
  p->mutable_amount()->set_currency("EUR");
  return e;
}

inline events::v1::Event Call(const std::string& id,
                              const std::string& customer, int day) {
  auto e = MakeEvent(id, customer, day);
  auto* c = e.mutable_call_logged();
  c->set_direction(events::v1::DIRECTION_INBOUND);
  c->set_duration_seconds(120);
  c->set_reason("delivery");
  c->set_outcome(events::v1::CALL_OUTCOME_RESOLVED);
  return e;
}

inline events::v1::Event Email(const std::string& id,
                               const std::string& customer, int day) {
  auto e = MakeEvent(id, customer, day);
  auto* m = e.mutable_email_logged();
  m->set_direction(events::v1::DIRECTION_OUTBOUND);
  m->set_subject("Spring sale");
  m->set_campaign("spring");
  m->set_opened(true);
  return e;
}

inline events::v1::Event Complaint(const std::string& id,
                                   const std::string& customer, int day,
                                   const std::string& complaint_id) {
  auto e = MakeEvent(id, customer, day);
  auto* c = e.mutable_complaint_filed();
  c->set_complaint_id(complaint_id);
  c->set_category("delivery");
  c->set_severity(events::v1::SEVERITY_HIGH);
  c->set_channel(events::v1::CONTACT_CHANNEL_PHONE);
  return e;
}

inline events::v1::Event Resolved(const std::string& id,
                                  const std::string& customer, int day,
                                  const std::string& complaint_id,
                                  bool satisfied) {
  auto e = MakeEvent(id, customer, day);
  auto* r = e.mutable_complaint_resolved();
  r->set_complaint_id(complaint_id);
  r->set_resolution("refund");
  r->set_customer_satisfied(satisfied);
  return e;
}

inline events::v1::Event Survey(const std::string& id,
                                const std::string& customer, int day, int csat,
                                int nps) {
  auto e = MakeEvent(id, customer, day);
  auto* s = e.mutable_survey_answered();
  s->set_survey_id("S-" + id);
  s->set_csat(csat);
  s->set_nps(nps);
  return e;
}

}  // namespace kehu::testing

#endif  // KEHU_TESTS_PROJECTIONS_EVENT_BUILDERS_H_
