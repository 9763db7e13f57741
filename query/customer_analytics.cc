#include "query/customer_analytics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "google/protobuf/util/time_util.h"
#include "infra/customer_metrics.h"

namespace kehu::query {
namespace {

using store::v1::CustomerState;
using store::v1::OrderRecord;

constexpr double kSecondsPerDay = 86400;
constexpr double kSecondsPerHour = 3600;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
double Days(int64_t micros) { return micros / 1e6 / kSecondsPerDay; }
double Hours(int64_t micros) { return micros / 1e6 / kSecondsPerHour; }

bool IsPurchase(const OrderRecord& order, int64_t as_of_us) {
  return infra::IsPurchaseAt(order, as_of_us);
}

// Revenue net of refunds of one order.
int64_t NetRevenue(const OrderRecord& order) {
  return order.revenue_minor() - order.refunded_minor();
}

// Weighted mean of the components present, after renormalising weights;
// fills `components` with every component's score and effective weight.
struct Part {
  const char* name;
  bool present;
  double score;
  double weight;
};
bool CombineIndex(
    const std::vector<Part>& parts, double* index,
    google::protobuf::RepeatedPtrField<query::v1::IndexComponent>* components) {
  double total_weight = 0;
  for (const Part& part : parts) {
    if (part.present) total_weight += part.weight;
  }
  double sum = 0;
  for (const Part& part : parts) {
    query::v1::IndexComponent* c = components->Add();
    c->set_name(part.name);
    if (!part.present || total_weight <= 0) continue;
    c->set_score(part.score);
    c->set_weight(part.weight / total_weight);
    sum += part.score * part.weight / total_weight;
  }
  *index = sum;
  return total_weight > 0;
}

void EvaluateRfm(const CustomerState& state, int64_t as_of_us,
                 const std::string& currency, const AnalyticsConfig& config,
                 query::v1::Rfm* rfm) {
  const infra::PurchaseFacts facts = infra::PurchaseFactsAt(
      state, as_of_us, absl::ToInt64Microseconds(config.rfm_window), currency);
  rfm->set_has_purchase(facts.purchases > 0);
  rfm->set_frequency(facts.window_purchases);
  rfm->set_monetary_minor(facts.window_margin_minor);
  if (facts.purchases > 0) {
    rfm->set_recency_days(Days(as_of_us - facts.last_purchase_us));
  }
}

void EvaluateComplaints(const CustomerState& state, int64_t as_of_us,
                        const AnalyticsConfig& config,
                        query::v1::Complaints* out) {
  const int64_t sla_us = absl::ToInt64Microseconds(config.complaint_sla);
  std::map<std::string, int64_t> by_category;
  int64_t oldest_open = 0;
  int64_t resolved = 0;
  int64_t resolution_us = 0;
  int64_t breaches = 0;
  for (const auto& c : state.complaints()) {
    if (c.filed_at_us() > as_of_us) continue;
    ++by_category[c.category()];
    const bool open = c.resolved_at_us() == 0 || c.resolved_at_us() > as_of_us;
    if (open) {
      const int64_t age = as_of_us - c.filed_at_us();
      oldest_open = std::max(oldest_open, age);
      if (age > sla_us) ++breaches;
    } else {
      const int64_t took = c.resolved_at_us() - c.filed_at_us();
      ++resolved;
      resolution_us += took;
      if (took > sla_us) ++breaches;
    }
  }
  out->set_oldest_open_age_hours(Hours(oldest_open));
  out->set_sla_breaches(breaches);
  out->set_mean_resolution_hours(resolved > 0 ? Hours(resolution_us) / resolved
                                              : 0);
  std::vector<std::pair<std::string, int64_t>> sorted(by_category.begin(),
                                                      by_category.end());
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [category, count] : sorted) {
    auto* entry = out->add_by_category();
    entry->set_category(category);
    entry->set_count(count);
  }
}

// The satisfaction band of an index (unspecified without one); with `rule`
// recording, the steps taken.
query::v1::SatisfactionBand SatisfactionBandOf(bool has_index, double index,
                                               const AnalyticsConfig& config,
                                               infra::Rule* rule) {
  using infra::Op;
  using infra::ThresholdSource;
  if (!has_index) {
    rule->Otherwise("unspecified",
                    "no index: no survey answer, purchase or complaint");
    return query::v1::SATISFACTION_BAND_UNSPECIFIED;
  }
  if (rule->Step("high", {{"satisfaction index", index, Op::kGreaterOrEqual,
                           "high band", config.satisfaction_high_band,
                           infra::kUnitPoints,
                           ThresholdSource::kConfiguration}})) {
    return query::v1::SATISFACTION_BAND_HIGH;
  }
  if (rule->Step("medium", {{"satisfaction index", index,
                             Op::kGreaterOrEqual, "medium band",
                             config.satisfaction_medium_band,
                             infra::kUnitPoints,
                             ThresholdSource::kConfiguration}})) {
    return query::v1::SATISFACTION_BAND_MEDIUM;
  }
  rule->Otherwise("low", "below the medium band");
  return query::v1::SATISFACTION_BAND_LOW;
}

void EvaluateSatisfaction(const CustomerState& state, int64_t as_of_us,
                          const AnalyticsConfig& config,
                          query::v1::Satisfaction* out,
                          infra::Explanation* why) {
  infra::Rule rule(why);
  double csat_sum = 0, nps_sum = 0;
  int64_t csat_n = 0, nps_n = 0;
  for (const auto& s : state.surveys()) {
    if (s.answered_at_us() > as_of_us) continue;
    rule.AddSurveys();
    if (s.csat() > 0) {
      csat_sum += s.csat();
      ++csat_n;
    }
    if (s.nps() >= 0) {
      nps_sum += s.nps();
      ++nps_n;
    }
  }
  int64_t purchases = 0, returned = 0;
  for (const auto& order : state.orders()) {
    if (!IsPurchase(order, as_of_us)) continue;
    rule.AddOrder(order.order_id());
    ++purchases;
    if (order.status() == store::v1::ORDER_STATUS_RETURNED) ++returned;
  }
  const int64_t sla_us = absl::ToInt64Microseconds(config.complaint_sla);
  int64_t complaints = 0, resolved = 0, in_time = 0;
  for (const auto& c : state.complaints()) {
    if (c.filed_at_us() > as_of_us) continue;
    rule.AddComplaint(c.complaint_id());
    ++complaints;
    if (c.resolved_at_us() != 0 && c.resolved_at_us() <= as_of_us) {
      ++resolved;
      if (c.resolved_at_us() - c.filed_at_us() <= sla_us) ++in_time;
    }
  }
  const double csat_mean = csat_n > 0 ? csat_sum / csat_n : 0;
  const double nps_mean = nps_n > 0 ? nps_sum / nps_n : 0;
  const double complaint_rate =
      purchases > 0 ? static_cast<double>(complaints) / purchases : 0;
  out->set_csat_mean(csat_mean);
  out->set_nps_mean(nps_mean);
  out->set_complaint_rate(complaint_rate);

  const std::vector<Part> parts = {
      {"csat", csat_n > 0, (csat_mean - 1) / 4 * 100,
       config.satisfaction_csat_weight},
      {"nps", nps_n > 0, nps_mean / 10 * 100, config.satisfaction_nps_weight},
      {"complaint_rate", purchases > 0, 100 * std::max(0.0, 1 - complaint_rate),
       config.satisfaction_complaint_rate_weight},
      {"resolution", complaints > 0,
       100 * (0.5 * resolved / complaints + 0.5 * in_time / complaints),
       config.satisfaction_resolution_weight},
      {"repurchase", purchases > 0,
       100.0 * (purchases - 1) / std::max<int64_t>(purchases, 1),
       config.satisfaction_repurchase_weight},
      {"returns", purchases > 0,
       100 * (1 -
              static_cast<double>(returned) / std::max<int64_t>(purchases, 1)),
       config.satisfaction_returns_weight},
  };
  double index = 0;
  out->set_has_index(CombineIndex(parts, &index, out->mutable_components()));
  out->set_index(index);

  if (rule.recording()) {
    why->order_returns = true;  // the returns component
    if (csat_n > 0) {
      rule.AddFact("CSAT answers", csat_n, infra::kUnitCount);
      rule.AddFact("mean CSAT answer (1-5)", csat_mean, infra::kUnitAnswer);
    }
    if (nps_n > 0) {
      rule.AddFact("NPS answers", nps_n, infra::kUnitCount);
      rule.AddFact("mean NPS answer (0-10)", nps_mean, infra::kUnitAnswer);
    }
    rule.AddFact("purchases", purchases, infra::kUnitPurchases);
    rule.AddFact("purchases with a return", returned, infra::kUnitPurchases);
    rule.AddFact("complaints", complaints, infra::kUnitCount);
    rule.AddFact("complaints resolved", resolved, infra::kUnitCount);
    rule.AddFact("complaints resolved within the SLA", in_time,
                 infra::kUnitCount);
    for (const auto& c : out->components()) {
      if (c.weight() <= 0) continue;
      why->facts.push_back({c.name() + " score", c.score(), infra::kUnitPoints});
      why->facts.push_back(
          {c.name() + " weight", c.weight(), infra::kUnitRatio});
    }
    if (out->has_index()) {
      rule.AddFact("satisfaction index", index, infra::kUnitPoints);
    }
  }
  out->set_band(SatisfactionBandOf(out->has_index(), index, config, &rule));
}

void EvaluateLoyalty(const CustomerState& state, int64_t as_of_us,
                     const AnalyticsConfig& config, query::v1::Loyalty* out) {
  std::vector<int64_t> times;
  int64_t spend = 0, discounted_spend = 0;
  int64_t recent = 0, previous = 0;
  const int64_t window = absl::ToInt64Microseconds(config.spend_trend_window);
  for (const auto& order : state.orders()) {
    if (!IsPurchase(order, as_of_us)) continue;
    times.push_back(order.placed_at_us());
    spend += order.revenue_minor();
    for (const auto& line : order.lines()) {
      if (line.discount_minor() > 0) discounted_spend += line.net_minor();
    }
    const int64_t age = as_of_us - order.placed_at_us();
    if (age < window) {
      recent += NetRevenue(order);
    } else if (age < 2 * window) {
      previous += NetRevenue(order);
    }
  }
  std::sort(times.begin(), times.end());
  const int64_t repeat = times.empty() ? 0 : times.size() - 1;
  out->set_repeat_purchases(repeat);

  // Regularity: 1 - coefficient of variation of the inter-purchase times.
  double regularity = 0;
  const bool has_regularity = times.size() >= 3;
  if (has_regularity) {
    std::vector<double> gaps;
    for (size_t i = 1; i < times.size(); ++i)
      gaps.push_back(Days(times[i] - times[i - 1]));
    double mean = 0;
    for (double g : gaps) mean += g;
    mean /= gaps.size();
    double var = 0;
    for (double g : gaps) var += (g - mean) * (g - mean);
    var /= gaps.size();
    const double cv = mean > 0 ? std::sqrt(var) / mean : 0;
    regularity = 100 * std::max(0.0, 1 - cv);
  }

  const double discount_share =
      spend > 0 ? static_cast<double>(discounted_spend) / spend : 0;
  out->set_discount_share(discount_share);

  double trend_score = 0;
  const bool has_trend = recent > 0 || previous > 0;
  if (previous > 0) {
    const double ratio = static_cast<double>(recent) / previous;
    out->set_spend_trend(ratio);
    trend_score = 100 * std::min(1.0, ratio / 2);
  } else if (recent > 0) {
    trend_score = 100;
  }

  const double tenure_days = times.empty() ? 0 : Days(as_of_us - times.front());
  out->set_tenure_days(tenure_days);
  const double full_tenure_days =
      absl::ToDoubleHours(config.loyalty_full_tenure) / 24;

  // Stayed after a complaint: bought again after the first complaint.
  int64_t first_complaint = 0;
  for (const auto& c : state.complaints()) {
    if (c.filed_at_us() > as_of_us) continue;
    if (first_complaint == 0 || c.filed_at_us() < first_complaint) {
      first_complaint = c.filed_at_us();
    }
  }
  const bool stayed =
      first_complaint != 0 && !times.empty() && times.back() > first_complaint;

  const std::vector<Part> parts = {
      {"repeat_purchases", !times.empty(),
       100 * std::min(1.0, static_cast<double>(repeat) /
                               std::max<int64_t>(
                                   1, config.loyalty_full_repeat_purchases)),
       config.loyalty_repeat_weight},
      {"regularity", has_regularity, regularity,
       config.loyalty_regularity_weight},
      {"price_sensitivity", spend > 0, 100 * (1 - discount_share),
       config.loyalty_price_weight},
      {"spend_trend", has_trend, trend_score, config.loyalty_trend_weight},
      {"tenure", !times.empty(),
       100 * std::min(1.0, tenure_days / std::max(1.0, full_tenure_days)),
       config.loyalty_tenure_weight},
      {"stayed_after_complaint", first_complaint != 0, stayed ? 100.0 : 0.0,
       config.loyalty_after_complaint_weight},
  };
  double index = 0;
  out->set_has_index(CombineIndex(parts, &index, out->mutable_components()));
  out->set_index(index);
}

query::v1::LifecycleStage ToApi(infra::Stage stage) {
  switch (stage) {
    case infra::Stage::kPotential:
      return query::v1::LIFECYCLE_STAGE_POTENTIAL;
    case infra::Stage::kNew:
      return query::v1::LIFECYCLE_STAGE_NEW;
    case infra::Stage::kRepeat:
      return query::v1::LIFECYCLE_STAGE_REPEAT;
    case infra::Stage::kLoyal:
      return query::v1::LIFECYCLE_STAGE_LOYAL;
    case infra::Stage::kAtRisk:
      return query::v1::LIFECYCLE_STAGE_AT_RISK;
    case infra::Stage::kChurned:
      return query::v1::LIFECYCLE_STAGE_CHURNED;
    case infra::Stage::kWonBack:
      return query::v1::LIFECYCLE_STAGE_WON_BACK;
  }
  return query::v1::LIFECYCLE_STAGE_UNSPECIFIED;
}

query::v1::PyramidTier ToApi(infra::PyramidTier tier) {
  switch (tier) {
    case infra::PyramidTier::kKey:
      return query::v1::PYRAMID_TIER_KEY;
    case infra::PyramidTier::kPotential:
      return query::v1::PYRAMID_TIER_POTENTIAL;
    case infra::PyramidTier::kRegular:
      return query::v1::PYRAMID_TIER_REGULAR;
    case infra::PyramidTier::kOneTime:
      return query::v1::PYRAMID_TIER_ONE_TIME;
    case infra::PyramidTier::kInactive:
      return query::v1::PYRAMID_TIER_INACTIVE;
  }
  return query::v1::PYRAMID_TIER_UNSPECIFIED;
}

query::v1::ValueMatrixCell ToApi(infra::MatrixCell cell) {
  switch (cell) {
    case infra::MatrixCell::kVip:
      return query::v1::VALUE_MATRIX_CELL_VIP;
    case infra::MatrixCell::kMaintain:
      return query::v1::VALUE_MATRIX_CELL_MAINTAIN;
    case infra::MatrixCell::kImprove:
      return query::v1::VALUE_MATRIX_CELL_IMPROVE;
    case infra::MatrixCell::kAbandon:
      return query::v1::VALUE_MATRIX_CELL_ABANDON;
    case infra::MatrixCell::kNone:
      break;
  }
  return query::v1::VALUE_MATRIX_CELL_UNSPECIFIED;
}

query::v1::WinBackPriority ToApi(infra::WinBack priority) {
  switch (priority) {
    case infra::WinBack::kNone:
      return query::v1::WIN_BACK_PRIORITY_NONE;
    case infra::WinBack::kMust:
      return query::v1::WIN_BACK_PRIORITY_MUST;
    case infra::WinBack::kShould:
      return query::v1::WIN_BACK_PRIORITY_SHOULD;
    case infra::WinBack::kTry:
      return query::v1::WIN_BACK_PRIORITY_TRY;
    case infra::WinBack::kDoNotSpend:
      return query::v1::WIN_BACK_PRIORITY_DO_NOT_SPEND;
  }
  return query::v1::WIN_BACK_PRIORITY_UNSPECIFIED;
}

query::v1::ChurnRiskBand ToApi(infra::ChurnRiskBand band) {
  switch (band) {
    case infra::ChurnRiskBand::kUnknown:
      return query::v1::CHURN_RISK_BAND_UNSPECIFIED;
    case infra::ChurnRiskBand::kLow:
      return query::v1::CHURN_RISK_BAND_LOW;
    case infra::ChurnRiskBand::kMedium:
      return query::v1::CHURN_RISK_BAND_MEDIUM;
    case infra::ChurnRiskBand::kHigh:
      return query::v1::CHURN_RISK_BAND_HIGH;
    case infra::ChurnRiskBand::kVeryHigh:
      return query::v1::CHURN_RISK_BAND_VERY_HIGH;
  }
  return query::v1::CHURN_RISK_BAND_UNSPECIFIED;
}

google::protobuf::Timestamp ToTimestamp(int64_t micros) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
}

// Places the customer in the population: segments, value, and the
// lifecycle stage at as_of with the transitions the history implies.
void EvaluateStanding(const CustomerState& state, int64_t as_of_us,
                      const std::string& currency,
                      const store::v1::PopulationModel& population,
                      const AnalyticsConfig& config,
                      query::v1::CustomerView* view,
                      infra::StandingExplanations* why) {
  const infra::Standing s = infra::StandingOf(state, as_of_us, population,
                                              currency, config.standing, why);
  query::v1::Segments* seg = view->mutable_segments();
  if (population.as_of_us() != 0) {
    *seg->mutable_population_as_of() = ToTimestamp(population.as_of_us());
    *seg->mutable_population_log_positions() = population.log_positions();
  }
  seg->set_recency_score(s.recency_score);
  seg->set_frequency_score(s.frequency_score);
  seg->set_monetary_score(s.monetary_score);
  seg->set_pareto_key(s.pareto_key);
  seg->set_pyramid_tier(ToApi(s.tier));
  seg->set_matrix_cell(ToApi(s.cell));
  seg->set_has_p_alive(s.has_p_alive);
  if (s.has_p_alive) {
    seg->set_p_alive(s.p_alive);
    seg->set_churn_risk(1 - s.p_alive);
  }
  seg->set_win_back(ToApi(s.win_back));
  seg->set_churn_risk_band(ToApi(s.churn_risk_band));

  query::v1::Value* value = view->mutable_value();
  value->set_has_current(s.has_current_value);
  value->set_current_minor(s.current_value);
  value->set_has_potential(s.has_potential_value);
  value->set_potential_minor(s.potential_value);

  // The stage at as_of (potential before the first purchase, even when
  // the fold has seen later ones); the fold's transitions (by purchase
  // count) up to as_of, merged with those the churn gap implies.
  query::v1::Lifecycle* lifecycle = view->mutable_lifecycle();
  lifecycle->set_stage(ToApi(s.stage));
  std::vector<query::v1::LifecycleTransition> all;
  for (const auto& t : lifecycle->transitions()) {
    if (google::protobuf::util::TimeUtil::TimestampToMicroseconds(t.at()) <=
        as_of_us) {
      all.push_back(t);
    }
  }
  for (const auto& d : s.transitions) {
    if (d.at_us > as_of_us) continue;
    query::v1::LifecycleTransition t;
    t.set_from(ToApi(d.from));
    t.set_to(ToApi(d.to));
    *t.mutable_at() = ToTimestamp(d.at_us);
    all.push_back(t);
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return google::protobuf::util::TimeUtil::TimestampToMicroseconds(a.at()) <
           google::protobuf::util::TimeUtil::TimestampToMicroseconds(b.at());
  });
  // Since when: the last transition into the current stage; unknown (unset)
  // for a stage that follows from P(alive), whose changes are not dated.
  lifecycle->clear_since();
  if (!all.empty() && all.back().to() == lifecycle->stage()) {
    *lifecycle->mutable_since() = all.back().at();
  }
  lifecycle->clear_transitions();
  for (auto& t : all) *lifecycle->add_transitions() = std::move(t);
}

}  // namespace

bool CompanySatisfactionIndex(const store::v1::SatisfactionFigures& f,
                              const AnalyticsConfig& config, double* index) {
  const double purchases = static_cast<double>(f.purchases());
  const double resolved_share =
      f.complaints() > 0
          ? std::min(1.0, static_cast<double>(f.resolutions()) / f.complaints())
          : 1.0;
  const double in_time_share =
      f.resolutions() > 0
          ? static_cast<double>(f.resolved_in_sla()) / f.resolutions()
          : 0.0;
  const std::vector<Part> parts = {
      {"csat", f.csat_answers() > 0,
       (static_cast<double>(f.csat_sum()) / std::max<int64_t>(f.csat_answers(), 1) - 1) / 4 * 100,
       config.satisfaction_csat_weight},
      {"nps", f.nps_answers() > 0,
       static_cast<double>(f.nps_sum()) / std::max<int64_t>(f.nps_answers(), 1) / 10 * 100,
       config.satisfaction_nps_weight},
      {"complaint_rate", purchases > 0,
       100 * std::max(0.0, 1 - f.complaints() / std::max(purchases, 1.0)),
       config.satisfaction_complaint_rate_weight},
      {"resolution", f.complaints() > 0 || f.resolutions() > 0,
       100 * (0.5 * resolved_share + 0.5 * in_time_share),
       config.satisfaction_resolution_weight},
      {"repurchase", purchases > 0,
       100 * f.repeat_purchases() / std::max(purchases, 1.0),
       config.satisfaction_repurchase_weight},
      {"returns", purchases > 0,
       100 * (1 - f.returned_purchases() / std::max(purchases, 1.0)),
       config.satisfaction_returns_weight},
  };
  google::protobuf::RepeatedPtrField<query::v1::IndexComponent> unused;
  *index = 0;
  return CombineIndex(parts, index, &unused);
}

void EvaluateCustomer(const CustomerState& state, absl::Time as_of,
                      const std::string& currency,
                      const store::v1::PopulationModel& population,
                      const AnalyticsConfig& config,
                      query::v1::CustomerView* view,
                      CustomerExplanations* why) {
  const int64_t as_of_us = Micros(as_of);
  *view->mutable_as_of() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(as_of_us);
  view->set_currency(currency);
  EvaluateRfm(state, as_of_us, currency, config, view->mutable_rfm());
  EvaluateComplaints(state, as_of_us, config, view->mutable_complaints());
  EvaluateSatisfaction(state, as_of_us, config, view->mutable_satisfaction(),
                       why != nullptr ? &why->satisfaction : nullptr);
  EvaluateLoyalty(state, as_of_us, config, view->mutable_loyalty());

  const store::v1::CurrencyTotals* totals = nullptr;
  for (const auto& t : state.totals()) {
    if (t.currency() == currency) totals = &t;
  }
  const int64_t revenue = totals != nullptr ? totals->revenue_minor() : 0;
  const int64_t cost = totals != nullptr ? totals->cost_minor() : 0;
  const int64_t paid = totals != nullptr ? totals->paid_minor() : 0;

  query::v1::Credit* credit = view->mutable_credit();
  credit->set_payments_with_due_date(state.payments_with_due_date());
  if (state.payments_with_due_date() > 0) {
    credit->set_on_time_share(static_cast<double>(state.payments_on_time()) /
                              state.payments_with_due_date());
  }
  const int64_t late =
      state.payments_with_due_date() - state.payments_on_time();
  if (late > 0) {
    credit->set_mean_days_late(state.late_seconds_total() / kSecondsPerDay /
                               late);
  }
  credit->set_outstanding_minor(revenue - paid);

  query::v1::Profit* profit = view->mutable_profit();
  const auto& counts = state.counts();
  const int64_t to_serve = counts.calls() * config.call_cost_minor +
                           counts.emails() * config.email_cost_minor +
                           counts.complaints() * config.complaint_cost_minor;
  profit->set_revenue_minor(revenue);
  profit->set_cost_of_goods_minor(cost);
  profit->set_cost_to_serve_minor(to_serve);
  profit->set_profit_minor(revenue - cost - to_serve);
  profit->set_unprofitable(revenue - cost - to_serve < 0);

  view->mutable_value()->set_historical_minor(revenue - cost);
  EvaluateStanding(state, as_of_us, currency, population, config, view,
                   why != nullptr ? &why->standing : nullptr);
}

}  // namespace kehu::query
