// The fixtures of fixtures.h. The warm history is written out by hand in
// the shapes the simulator (producers/simulator.cc) produces — its catalog
// codes, id formats and German contact data — so that every field a fold
// or a view reads is filled as in production.
#include "tests/bench/micro/fixtures.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "infra/check.h"
#include "infra/event_validation.h"
#include "infra/status_macros.h"
#include "producers/simulator.h"
#include "projections/customer_fold.h"

namespace kehu::bench {
namespace {

namespace ev = events::v1;
using ev::Event;

// 2024-01-01T00:00:00Z; the warm history is dated in days from here.
constexpr int64_t kHistoryStart = 1704067200;
// 2026-01-01T00:00:00Z.
constexpr int64_t kReference = 1767225600;
constexpr int64_t kDay = 86400;
constexpr char kCurrency[] = "EUR";

struct Product {
  const char* sku;
  const char* category;
  int64_t price;  // minor units
  int64_t cost;
};

// A slice of the simulator's catalog: its SKU codes and categories.
constexpr Product kProducts[] = {
    {"OFF-0001", "office", 1499, 720},
    {"ELE-0003", "electronics", 89900, 70100},
    {"HOM-0002", "home", 7999, 4300},
    {"GRO-0001", "grocery", 899, 620},
    {"OFF-0004", "office", 19900, 9800},
    {"GAR-0001", "garden", 12900, 7600},
    {"APP-0003", "apparel", 4999, 1900},
    {"SPO-0002", "sports", 15900, 8800},
    {"ELE-0001", "electronics", 24900, 19200},
    {"TOY-0001", "toys", 2999, 1500},
    {"HOM-0005", "home", 2499, 1400},
    {"GRO-0004", "grocery", 2499, 1750},
    {"OFF-0002", "office", 4999, 2350},
};
constexpr int kProductCount = sizeof(kProducts) / sizeof(kProducts[0]);

constexpr int kOrders = 20;
constexpr int kCancelledOrder = 5;
constexpr int kReturnedOrders[] = {8, 15};
constexpr int kComplainedOrders[] = {3, 8, 12, 17};  // the last stays open
constexpr int kSurveyedOrders[] = {0, 2, 5, 7, 10, 13, 16, 19};

// Seconds of day `day` of the history, at `hour` UTC.
int64_t At(int day, int hour) {
  return kHistoryStart + int64_t{day} * kDay + int64_t{hour} * 3600;
}

int OrderDay(int order) { return 10 + 36 * order; }

std::string OrderId(int order) {
  return absl::StrFormat("O%09d", 4711 + 97 * order);
}

std::string ComplaintId(int complaint) {
  return absl::StrFormat("CP%08d", 1201 + 53 * complaint);
}

// An event of the warm customer without an id (ids follow the log order).
Event NewEvent(int64_t seconds, const char* source) {
  Event e;
  e.set_customer_id(kWarmCustomerId);
  e.mutable_occurred_at()->set_seconds(seconds);
  e.set_source(source);
  return e;
}

void FillContact(int version, ev::ContactData* contact) {
  contact->set_email(absl::StrCat(version == 0 ? "purchasing" : "orders",
                                  "@hoffmann-42.example.com"));
  contact->set_phone(absl::StrFormat("+49 89 %07d", 4711042 + version * 1301));
  ev::PostalAddress* address = contact->mutable_address();
  address->add_lines(version == 0 ? "Lindenallee 17" : "Marktplatz 3");
  address->add_lines("Wareneingang Tor 2");
  address->set_postal_code(version == 0 ? "80331" : "86150");
  address->set_city(version == 0 ? "Munich" : "Augsburg");
  address->set_country("DE");
}

Event Registration(int64_t seconds, const char* source) {
  Event e = NewEvent(seconds, source);
  ev::CustomerRegistered* r = e.mutable_customer_registered();
  r->set_name("Hoffmann GmbH");
  r->set_relationship_type(ev::RELATIONSHIP_TYPE_BUSINESS);
  r->set_region("south");
  r->set_acquisition_channel(ev::ACQUISITION_CHANNEL_SALES_REP);
  FillContact(0, r->mutable_contact());
  return e;
}

// Order `order` of the history: 1-5 lines, ERP orders with their cost of
// goods, every fifth from the web shop without.
Event Order(int order) {
  const bool web = order % 5 == 3;
  Event e =
      NewEvent(At(OrderDay(order), web ? 21 : 10), web ? "webshop" : "erp");
  ev::OrderPlaced* o = e.mutable_order_placed();
  o->set_order_id(OrderId(order));
  o->set_currency(kCurrency);
  o->set_channel(web ? ev::CONTACT_CHANNEL_WEB
                     : (order % 2 == 0 ? ev::CONTACT_CHANNEL_EMAIL
                                       : ev::CONTACT_CHANNEL_PHONE));
  const int lines = 1 + (order * 3) % 5;
  for (int j = 0; j < lines; ++j) {
    const Product& p = kProducts[(order * 5 + j * 3) % kProductCount];
    ev::OrderLine* line = o->add_lines();
    line->set_sku(p.sku);
    line->set_category(p.category);
    line->set_quantity(1 + (order + 2 * j) % 6);
    line->set_unit_price_minor(p.price);
    if (!web) line->set_unit_cost_minor(p.cost);
    // Every third line carries a 5 % discount.
    if ((order + j) % 3 == 0) {
      line->set_discount_minor(line->quantity() * p.price / 20);
    }
  }
  return e;
}

int64_t NetTotal(const ev::OrderPlaced& order) {
  int64_t total = 0;
  for (const auto& line : order.lines()) {
    total += line.quantity() * line.unit_price_minor() - line.discount_minor();
  }
  return total;
}

// The payment of an order invoiced with 30 days to pay; every fourth is
// paid 10 days late.
Event Payment(const Event& order, int order_index) {
  const int64_t placed = order.occurred_at().seconds();
  const int64_t paid = placed + (order_index % 4 == 1 ? 40 : 12) * kDay;
  Event e = NewEvent(paid, "erp");
  ev::PaymentReceived* p = e.mutable_payment_received();
  p->set_invoice_id(
      absl::StrCat("INV", order.order_placed().order_id().substr(1)));
  p->set_order_id(order.order_placed().order_id());
  p->mutable_amount()->set_minor_units(NetTotal(order.order_placed()));
  p->mutable_amount()->set_currency(kCurrency);
  p->mutable_due_at()->set_seconds(placed + 30 * kDay);
  return e;
}

Event Cancellation(const Event& order) {
  Event e = NewEvent(order.occurred_at().seconds() + kDay, "erp");
  e.mutable_order_cancelled()->set_order_id(order.order_placed().order_id());
  e.mutable_order_cancelled()->set_reason("customer request");
  return e;
}

// A return of one unit of the order's first line, refunded at its net
// price.
Event Return(const Event& order, int64_t seconds, int return_number) {
  const ev::OrderLine& line = order.order_placed().lines(0);
  Event e = NewEvent(seconds, "erp");
  ev::OrderReturned* r = e.mutable_order_returned();
  r->set_order_id(order.order_placed().order_id());
  r->set_return_id(absl::StrFormat("R%09d", 880 + return_number));
  ev::ReturnLine* back = r->add_lines();
  back->set_sku(line.sku());
  back->set_quantity(1);
  r->mutable_refund()->set_minor_units(
      (line.quantity() * line.unit_price_minor() - line.discount_minor()) /
      line.quantity());
  r->mutable_refund()->set_currency(kCurrency);
  r->set_reason("damaged in transit");
  return e;
}

Event ComplaintAbout(const Event& order, int64_t seconds, int complaint) {
  static constexpr const char* kCategories[] = {"delivery", "product quality",
                                                "billing", "delivery"};
  Event e = NewEvent(seconds, "callcenter");
  ev::ComplaintFiled* f = e.mutable_complaint_filed();
  f->set_complaint_id(ComplaintId(complaint));
  f->set_category(kCategories[complaint % 4]);
  f->set_severity(complaint % 2 == 0 ? ev::SEVERITY_MEDIUM : ev::SEVERITY_HIGH);
  f->set_channel(ev::CONTACT_CHANNEL_PHONE);
  f->set_description(
      "Pallet arrived two days late and one carton was crushed; the "
      "customer asks for a credit note.");
  f->set_order_id(order.order_placed().order_id());
  return e;
}

Event Resolution(int64_t seconds, int complaint, bool satisfied) {
  Event e = NewEvent(seconds, "callcenter");
  ev::ComplaintResolved* r = e.mutable_complaint_resolved();
  r->set_complaint_id(ComplaintId(complaint));
  r->set_resolution(complaint % 2 == 0 ? "refund" : "replacement");
  r->set_customer_satisfied(satisfied);
  return e;
}

Event Survey(int64_t seconds, const std::string& survey_id, int csat, int nps) {
  Event e = NewEvent(seconds, "webshop");
  ev::SurveyAnswered* s = e.mutable_survey_answered();
  s->set_survey_id(survey_id);
  if (csat > 0) s->set_csat(csat);
  s->set_nps(nps);
  s->set_comment(nps >= 9 ? "Reliable supplier, quick delivery"
                          : "Fine, but delivery dates slip");
  return e;
}

Event Call(int64_t seconds, int n) {
  static constexpr const char* kReasons[] = {"delivery", "invoice",
                                             "product question", "follow-up"};
  Event e = NewEvent(seconds, "callcenter");
  ev::CallLogged* c = e.mutable_call_logged();
  c->set_direction(n % 2 == 0 ? ev::DIRECTION_INBOUND : ev::DIRECTION_OUTBOUND);
  c->set_duration_seconds(180 + 37 * (n % 9));
  c->set_reason(kReasons[n % 4]);
  c->set_outcome(n % 3 == 0 ? ev::CALL_OUTCOME_FOLLOW_UP
                            : ev::CALL_OUTCOME_RESOLVED);
  return e;
}

Event Email(int64_t seconds, int n) {
  Event e = NewEvent(seconds, "webshop");
  ev::EmailLogged* m = e.mutable_email_logged();
  m->set_direction(ev::DIRECTION_OUTBOUND);
  m->set_subject(absl::StrCat("Business newsletter ", 1 + n % 12, "/",
                              n < 15 ? "2024" : "2025"));
  m->set_campaign("b2b-newsletter");
  m->set_opened(n % 3 != 2);
  m->set_clicked(n % 5 == 0);
  return e;
}

Event ProfileUpdate(int64_t seconds, int version) {
  Event e = NewEvent(seconds, "erp");
  ev::ProfileUpdated* u = e.mutable_profile_updated();
  FillContact(version, u->mutable_contact());
  return e;
}

std::vector<Event> BuildHistory() {
  std::vector<Event> events;
  events.push_back(Registration(At(8, 9), "erp"));
  std::vector<Event> orders;
  for (int i = 0; i < kOrders; ++i) orders.push_back(Order(i));
  for (int i = 0; i < kOrders; ++i) {
    events.push_back(orders[i]);
    if (i == kCancelledOrder) {
      events.push_back(Cancellation(orders[i]));
    } else if (i + 1 < kOrders) {
      events.push_back(Payment(orders[i], i));
    }
  }
  for (int r = 0; r < 2; ++r) {
    const Event& order = orders[kReturnedOrders[r]];
    events.push_back(
        Return(order, order.occurred_at().seconds() + 6 * kDay, r));
  }
  for (int c = 0; c < 4; ++c) {
    const Event& order = orders[kComplainedOrders[c]];
    const int64_t filed = order.occurred_at().seconds() + 9 * kDay;
    events.push_back(ComplaintAbout(order, filed, c));
    // The second one took five days, beyond the 48-hour SLA.
    if (c < 3) {
      events.push_back(
          Resolution(filed + (c == 1 ? 5 : 1) * kDay + 3600, c, c != 1));
    }
  }
  for (size_t s = 0; s < std::size(kSurveyedOrders); ++s) {
    const Event& order = orders[kSurveyedOrders[s]];
    events.push_back(
        Survey(order.occurred_at().seconds() + 3 * kDay,
               absl::StrCat("post-purchase-", order.order_placed().order_id()),
               // Every third answered only the NPS question.
               s % 3 == 2 ? 0 : 3 + static_cast<int>(s) % 3,
               6 + static_cast<int>(s * 7) % 5));
  }
  for (int n = 0; n < 12; ++n) events.push_back(Call(At(20 + 58 * n, 14), n));
  for (int n = 0; n < 30; ++n) events.push_back(Email(At(12 + 23 * n, 7), n));
  events.push_back(ProfileUpdate(At(200, 11), 0));
  events.push_back(ProfileUpdate(At(500, 11), 1));

  std::stable_sort(
      events.begin(), events.end(), [](const Event& a, const Event& b) {
        return a.occurred_at().seconds() < b.occurred_at().seconds();
      });
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].set_event_id(absl::StrCat("evt-", 100001 + i));
  }
  return events;
}

std::vector<Event> BuildNextEvents() {
  const Event last_order = Order(kOrders - 1);
  const int64_t t = At(720, 10);  // 2025-12-21, after the whole history
  std::vector<Event> events;
  events.push_back(Registration(t, "webshop"));
  events.push_back(ProfileUpdate(t, 2));
  {
    Event e = NewEvent(t, "erp");
    ev::OrderPlaced* o = e.mutable_order_placed();
    o->set_order_id(OrderId(kOrders));
    o->set_currency(kCurrency);
    o->set_channel(ev::CONTACT_CHANNEL_EMAIL);
    for (int j : {0, 4, 7}) {
      const Product& p = kProducts[j];
      ev::OrderLine* line = o->add_lines();
      line->set_sku(p.sku);
      line->set_category(p.category);
      line->set_quantity(2 + j);
      line->set_unit_price_minor(p.price);
      line->set_unit_cost_minor(p.cost);
    }
    o->mutable_lines(1)->set_discount_minor(
        o->lines(1).quantity() * o->lines(1).unit_price_minor() / 20);
    events.push_back(std::move(e));
  }
  events.push_back(Cancellation(last_order));
  events.back().mutable_occurred_at()->set_seconds(t);
  events.push_back(Return(last_order, t, 2));
  events.push_back(Payment(last_order, kOrders - 1));
  events.back().mutable_occurred_at()->set_seconds(t);
  events.push_back(Call(t, 1));
  events.push_back(Email(t, 29));
  events.push_back(ComplaintAbout(last_order, t, 4));
  events.push_back(Resolution(t, 3, true));  // the open complaint
  events.push_back(Survey(t, "relationship-2025-q4", 4, 9));
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].set_event_id(absl::StrCat("evt-", 200001 + i));
  }
  return events;
}

store::v1::PopulationModel BuildPopulation() {
  store::v1::PopulationModel p;
  p.set_as_of_us(kReference * 1000000);
  p.add_log_positions(28000);
  p.set_currency(kCurrency);

  store::v1::ModelParameters* m = p.mutable_models();
  m->mutable_bg_nbd()->set_r(0.8260);
  m->mutable_bg_nbd()->set_alpha(9.8626);
  m->mutable_bg_nbd()->set_a(0.0037);
  m->mutable_bg_nbd()->set_b(6.7472);
  m->mutable_gamma_gamma()->set_p(2.0555);
  m->mutable_gamma_gamma()->set_q(3.5401);
  m->mutable_gamma_gamma()->set_gamma(50258.24);
  m->set_time_unit_days(7);
  m->set_calibration_end_us(p.as_of_us());
  m->add_log_positions(28000);
  m->set_customers(4339);
  m->set_repeat_customers(2854);

  p.set_active_customers(4265);
  p.set_purchasing_customers(4339);
  for (double cut : {12.6, 32.5, 71.5, 179.4})
    p.mutable_recency_days()->add_cuts(cut);
  for (double cut : {1, 2, 3, 5}) p.mutable_frequency()->add_cuts(cut);
  for (double cut : {22388, 45530, 89112, 195245}) {
    p.mutable_monetary_minor()->add_cuts(cut);
  }
  p.set_pareto_share(0.80);
  p.set_pareto_key_customers(1158);
  p.set_pareto_cutoff_minor(141277);
  p.set_total_margin_minor(814319993);
  p.set_pyramid_key_cutoff_minor(566882);
  p.set_pyramid_potential_cutoff_minor(199546);
  p.set_pyramid_key_customers(214);
  p.set_pyramid_potential_customers(639);

  static constexpr const char* kCategories[] = {
      "electronics", "home",   "garden", "office",
      "apparel",     "sports", "toys",   "grocery"};
  static constexpr struct {
    const char* tier;
    double scale;
  } kTiers[] = {
      {"key", 9.0}, {"potential", 3.2}, {"regular", 1.0}, {"one_time", 0.45}};
  for (const auto& tier : kTiers) {
    store::v1::TierCategoryMargins* row = p.add_category_margins();
    row->set_tier(tier.tier);
    for (int c = 0; c < 8; ++c) {
      row->add_categories(kCategories[c]);
      row->add_mean_margin_minor(tier.scale * (2400 + 900 * ((c * 5) % 8)));
    }
  }
  p.set_median_current_value_minor(61250);
  p.set_median_potential_value_minor(18400);
  p.set_median_inter_purchase_days(41.5);
  return p;
}

std::vector<infra::LogRecord> BuildSimulatedYear() {
  producers::SimulatorOptions options;
  options.customers = 2000;
  options.days = 365;
  options.seed = 7;
  std::vector<infra::LogRecord> records;
  absl::Status s = producers::Simulator(options).Run([&](const Event& e) {
    records.push_back({0, static_cast<int64_t>(records.size()), e.customer_id(),
                       e.SerializeAsString()});
    return absl::OkStatus();
  });
  // The options are valid and the sink never fails.
  KEHU_CHECK(s.ok());
  return records;
}

std::atomic<bool> failed{false};

}  // namespace

const std::vector<Event>& WarmHistory() {
  static const auto* history = new std::vector<Event>(BuildHistory());
  return *history;
}

const store::v1::CustomerState& WarmCustomer() {
  static const auto* state = [] {
    auto* s = new store::v1::CustomerState;
    int64_t offset = 0;
    for (const Event& e : WarmHistory()) {
      projections::FoldEvent(e, {3, offset++}, s);
    }
    return s;
  }();
  return *state;
}

const std::vector<Event>& NextEvents() {
  static const auto* events = new std::vector<Event>(BuildNextEvents());
  return *events;
}

std::string PayloadName(const Event& event) {
  const auto* field =
      Event::descriptor()->FindFieldByNumber(event.payload_case());
  return field != nullptr ? field->name() : "none";
}

absl::Time ReferenceTime() { return absl::FromUnixSeconds(kReference); }

const store::v1::PopulationModel& FittedPopulation() {
  static const auto* population =
      new store::v1::PopulationModel(BuildPopulation());
  return *population;
}

const std::vector<infra::LogRecord>& SimulatedYear() {
  static const auto* records =
      new std::vector<infra::LogRecord>(BuildSimulatedYear());
  return *records;
}

absl::Status CheckFixtures() {
  for (const auto* events : {&WarmHistory(), &NextEvents()}) {
    for (const Event& e : *events) {
      if (auto invalid = infra::ValidateEvent(e)) {
        return absl::InternalError(absl::StrCat(
            "fixture event ", e.event_id(), " (", PayloadName(e),
            ") is invalid: ", invalid->field, ": ", invalid->reason));
      }
    }
  }
  if (NextEvents().size() !=
      static_cast<size_t>(Event::descriptor()->oneof_decl(0)->field_count())) {
    return absl::InternalError("NextEvents() lacks a payload type");
  }
  const store::v1::CustomerState& warm = WarmCustomer();
  if (WarmHistory().size() != 101 || warm.orders_size() != kOrders ||
      warm.purchase_count() != kOrders - 1 || warm.open_complaints() != 1 ||
      warm.complaints_size() != 4 || warm.surveys_size() != 8) {
    return absl::InternalError(
        absl::StrCat("the warm customer is not what fixtures.h says: ",
                     warm.ShortDebugString().substr(0, 200)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ScratchDir>> ScratchDir::Create() {
  std::error_code error;
  std::filesystem::path base = std::filesystem::temp_directory_path(error);
  if (error) base = "/tmp";
  std::string pattern = (base / "kehu-micro-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a directory like ", pattern));
  }
  return std::unique_ptr<ScratchDir>(new ScratchDir(pattern));
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

absl::StatusOr<ScratchStore> OpenScratchStore() {
  ScratchStore scratch;
  KEHU_ASSIGN_OR_RETURN(scratch.dir, ScratchDir::Create());
  infra::ProjectionStoreOptions options;
  options.reporting_currency = kCurrency;
  KEHU_ASSIGN_OR_RETURN(
      scratch.store,
      infra::ProjectionStore::Open(scratch.dir->path() + "/store", options));
  KEHU_RETURN_IF_ERROR(scratch.store->PutPopulation(FittedPopulation()));
  return scratch;
}

void Fail(benchmark::State& state, const std::string& message) {
  failed = true;
  state.SkipWithError(message.c_str());
}

bool AnyFailed() { return failed; }

}  // namespace kehu::bench
