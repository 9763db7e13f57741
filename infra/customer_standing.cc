#include "infra/customer_standing.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "infra/lifetime_value.h"

namespace kehu::infra {
namespace {

constexpr double kMicrosPerDay = 86400e6;

// 1 + the number of cut points `value` exceeds.
int ScoreHigherIsBetter(double value, const store::v1::QuintileCuts& cuts) {
  int score = 1;
  for (double cut : cuts.cuts()) score += value > cut ? 1 : 0;
  return score;
}

// 1 + the number of cut points `value` stays below.
int ScoreLowerIsBetter(double value, const store::v1::QuintileCuts& cuts) {
  int score = 1;
  for (double cut : cuts.cuts()) score += value < cut ? 1 : 0;
  return score;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Quarter index (year * 4 + quarter) of a UTC time.
int64_t QuarterOf(int64_t at_us) {
  const absl::CivilSecond cs =
      absl::ToCivilSecond(absl::FromUnixMicros(at_us), absl::UTCTimeZone());
  return cs.year() * 4 + (cs.month() - 1) / 3;
}

}  // namespace

const char* PyramidTierName(PyramidTier tier) {
  switch (tier) {
    case PyramidTier::kKey:
      return "key";
    case PyramidTier::kPotential:
      return "potential";
    case PyramidTier::kRegular:
      return "regular";
    case PyramidTier::kOneTime:
      return "one_time";
    case PyramidTier::kInactive:
      return "inactive";
  }
  return "inactive";
}

PyramidTier PyramidTierOf(const PurchaseFacts& facts,
                          const store::v1::PopulationModel& population,
                          Explanation* why) {
  Rule rule(why);
  const double purchases = facts.window_purchases;
  const double margin = facts.window_margin_minor;
  rule.AddFact("purchases in the trailing year", purchases, kUnitPurchases);
  rule.AddFact("trailing-year margin", margin, kUnitMoney);
  if (rule.Step("inactive", {{"purchases in the trailing year", purchases,
                              Op::kEqual, "", 0, kUnitPurchases,
                              ThresholdSource::kConfiguration}})) {
    return PyramidTier::kInactive;
  }
  if (rule.Step("key",
                {{"key customers in the population",
                  static_cast<double>(population.pyramid_key_customers()),
                  Op::kGreater, "", 0, kUnitCount,
                  ThresholdSource::kPopulation},
                 {"trailing-year margin", margin, Op::kGreaterOrEqual,
                  "key cutoff",
                  static_cast<double>(population.pyramid_key_cutoff_minor()),
                  kUnitMoney, ThresholdSource::kPopulation}})) {
    return PyramidTier::kKey;
  }
  if (rule.Step(
          "potential",
          {{"potential customers in the population",
            static_cast<double>(population.pyramid_potential_customers()),
            Op::kGreater, "", 0, kUnitCount, ThresholdSource::kPopulation},
           {"trailing-year margin", margin, Op::kGreaterOrEqual,
            "potential cutoff",
            static_cast<double>(population.pyramid_potential_cutoff_minor()),
            kUnitMoney, ThresholdSource::kPopulation}})) {
    return PyramidTier::kPotential;
  }
  if (rule.Step("one_time", {{"purchases in the trailing year", purchases,
                              Op::kEqual, "", 1, kUnitPurchases,
                              ThresholdSource::kConfiguration}})) {
    return PyramidTier::kOneTime;
  }
  rule.Otherwise("regular", "below the potential cutoff, more than one purchase");
  return PyramidTier::kRegular;
}

bool ParetoKeyOf(const PurchaseFacts& facts,
                 const store::v1::PopulationModel& population,
                 Explanation* why) {
  Rule rule(why);
  const double purchases = facts.window_purchases;
  const double margin = facts.window_margin_minor;
  rule.AddFact("purchases in the trailing year", purchases, kUnitPurchases);
  rule.AddFact("trailing-year margin", margin, kUnitMoney);
  if (rule.Step(
          "key",
          {{"purchases in the trailing year", purchases, Op::kGreater, "",
            0, kUnitPurchases, ThresholdSource::kConfiguration},
           {"Pareto key customers in the population",
            static_cast<double>(population.pareto_key_customers()),
            Op::kGreater, "", 0, kUnitCount, ThresholdSource::kPopulation},
           {"trailing-year margin", margin, Op::kGreater, "", 0,
            kUnitMoney, ThresholdSource::kConfiguration},
           {"trailing-year margin", margin, Op::kGreaterOrEqual,
            "Pareto cutoff",
            static_cast<double>(population.pareto_cutoff_minor()), kUnitMoney,
            ThresholdSource::kPopulation}})) {
    return true;
  }
  rule.Otherwise("ordinary");
  return false;
}

ChurnRiskBand ChurnRiskBandOf(bool has_p_alive, double p_alive,
                              const StandingConfig& config, Explanation* why) {
  Rule rule(why);
  if (!has_p_alive) {
    rule.Otherwise("unspecified",
                   "P(alive) is unknown: no purchase, or no lifetime-value "
                   "model fitted yet (kehu fit)");
    return ChurnRiskBand::kUnknown;
  }
  rule.AddFact("P(alive)", p_alive, kUnitRatio);
  rule.AddFact("churn risk", 1 - p_alive, kUnitRatio);
  if (rule.Step("low", {{"P(alive)", p_alive, Op::kGreaterOrEqual,
                         "loyal P(alive)", config.loyal_p_alive, kUnitRatio,
                         ThresholdSource::kConfiguration}})) {
    return ChurnRiskBand::kLow;
  }
  if (rule.Step("medium", {{"P(alive)", p_alive, Op::kGreaterOrEqual,
                            "at-risk P(alive)", config.at_risk_p_alive,
                            kUnitRatio, ThresholdSource::kConfiguration}})) {
    return ChurnRiskBand::kMedium;
  }
  if (rule.Step("high", {{"P(alive)", p_alive, Op::kGreaterOrEqual,
                          "churned P(alive)", config.churned_p_alive,
                          kUnitRatio, ThresholdSource::kConfiguration}})) {
    return ChurnRiskBand::kHigh;
  }
  rule.Otherwise("very_high", "below the churned P(alive)");
  return ChurnRiskBand::kVeryHigh;
}

MatrixCell MatrixCellOf(const Standing& s,
                        const store::v1::PopulationModel& population,
                        Explanation* why) {
  Rule rule(why);
  if (!s.has_current_value || !s.has_potential_value) {
    rule.Otherwise("unspecified",
                   "current or potential value is unknown: no purchase, no "
                   "lifetime-value models fitted yet (kehu fit), or no "
                   "category margins for the customer's tier");
    return MatrixCell::kNone;
  }
  rule.AddFact("current value", s.current_value, kUnitMoney);
  rule.AddFact("potential value", s.potential_value, kUnitMoney);
  rule.AddFact("P(alive)", s.p_alive, kUnitRatio);
  // At or above the median is high; nothing (zero) never is, so data
  // without categories puts everyone on the low-potential side.
  const Comparison current_positive = {"current value", s.current_value,
                                       Op::kGreater, "", 0, kUnitMoney,
                                       ThresholdSource::kConfiguration};
  const Comparison current_high = {
      "current value", s.current_value, Op::kGreaterOrEqual,
      "median current value", population.median_current_value_minor(),
      kUnitMoney, ThresholdSource::kPopulation};
  const Comparison potential_positive = {"potential value", s.potential_value,
                                         Op::kGreater, "", 0, kUnitMoney,
                                         ThresholdSource::kConfiguration};
  const Comparison potential_high = {
      "potential value", s.potential_value, Op::kGreaterOrEqual,
      "median potential value", population.median_potential_value_minor(),
      kUnitMoney, ThresholdSource::kPopulation};
  if (rule.Step("vip", {current_positive, current_high, potential_positive,
                        potential_high})) {
    return MatrixCell::kVip;
  }
  if (rule.Step("maintain", {current_positive, current_high})) {
    return MatrixCell::kMaintain;
  }
  if (rule.Step("improve", {potential_positive, potential_high})) {
    return MatrixCell::kImprove;
  }
  rule.Otherwise("abandon", "neither value at or above its median");
  return MatrixCell::kAbandon;
}

namespace {

constexpr char kNoPAlive[] =
    "P(alive) is unknown: no lifetime-value model fitted yet (kehu fit)";

// The lifecycle stage at as_of of a customer who bought at `days` (sorted),
// with the transitions the churn gap implies appended to `transitions`.
Stage LifecycleStageOf(const std::vector<int64_t>& days, int64_t as_of_us,
                       bool has_p_alive, double p_alive,
                       const store::v1::PopulationModel& population,
                       const StandingConfig& config,
                       std::vector<DerivedTransition>* transitions,
                       Explanation* why) {
  Rule rule(why);
  const double purchases = static_cast<double>(days.size());
  rule.AddFact("purchases", purchases, kUnitPurchases);
  if (rule.Step("potential",
                {{"purchases", purchases, Op::kEqual, "", 0,
                  kUnitPurchases, ThresholdSource::kConfiguration}})) {
    return Stage::kPotential;
  }

  // The churn gap before each purchase.
  const double multiple = config.churn_gap_multiple;
  const double min_gap_days = absl::ToDoubleHours(config.min_churn_gap) / 24;
  auto churn_gap_days = [&](const std::vector<double>& gaps) {
    const double median =
        gaps.empty() ? population.median_inter_purchase_days() : Median(gaps);
    return std::max(min_gap_days, multiple * median);
  };
  // Where the churn gap came from: the configured minimum, else the
  // median gap of the population (a single purchase) or of the customer.
  auto gap_source = [&](const std::vector<double>& gaps, double gap_days) {
    if (gap_days == min_gap_days) return ThresholdSource::kConfiguration;
    return gaps.empty() ? ThresholdSource::kPopulation
                        : ThresholdSource::kCustomerHistory;
  };
  std::vector<double> gaps;
  Stage stage = Stage::kNew;
  bool last_was_win_back = false;
  double last_gap = 0;
  double last_gap_threshold = 0;
  ThresholdSource last_gap_source = ThresholdSource::kPopulation;
  for (size_t i = 1; i < days.size(); ++i) {
    const double gap = (days[i] - days[i - 1]) / kMicrosPerDay;
    const double threshold = churn_gap_days(gaps);
    last_gap = gap;
    last_gap_threshold = threshold;
    last_gap_source = gap_source(gaps, threshold);
    last_was_win_back = gap > threshold;
    if (last_was_win_back) {
      const int64_t churned_at =
          days[i - 1] + static_cast<int64_t>(threshold * kMicrosPerDay);
      transitions->push_back({stage, Stage::kChurned, churned_at});
      transitions->push_back({Stage::kChurned, Stage::kWonBack, days[i]});
    }
    gaps.push_back(gap);
    stage = last_was_win_back ? Stage::kWonBack : Stage::kRepeat;
  }
  const double silence = (as_of_us - days.back()) / kMicrosPerDay;
  const double threshold_now = churn_gap_days(gaps);
  std::set<int64_t> quarters;
  for (int64_t d : days) quarters.insert(QuarterOf(d));
  const double quarter_count = static_cast<double>(quarters.size());

  rule.AddFact("days since the first purchase",
               (as_of_us - days.front()) / kMicrosPerDay, kUnitDays);
  rule.AddFact("days since the last purchase", silence, kUnitDays);
  if (gaps.empty()) {
    rule.AddFact("population median days between purchases",
                 population.median_inter_purchase_days(), kUnitDays);
  } else {
    rule.AddFact("median days between purchases", Median(gaps), kUnitDays);
  }
  rule.AddFact("churn gap", threshold_now, kUnitDays);
  rule.AddFact("calendar quarters with a purchase", quarter_count, kUnitCount);
  if (has_p_alive) rule.AddFact("P(alive)", p_alive, kUnitRatio);

  if (rule.Step("churned",
                {{"days since the last purchase", silence, Op::kGreater,
                  "churn gap", threshold_now, kUnitDays,
                  gap_source(gaps, threshold_now)}})) {
    transitions->push_back(
        {stage, Stage::kChurned,
         days.back() + static_cast<int64_t>(threshold_now * kMicrosPerDay)});
    return Stage::kChurned;
  }
  const char* no_p_alive = has_p_alive ? nullptr : kNoPAlive;
  if (rule.Step("churned",
                {{"P(alive)", p_alive, Op::kLess, "churned P(alive)",
                  config.churned_p_alive, kUnitRatio,
                  ThresholdSource::kConfiguration}},
                no_p_alive)) {
    return Stage::kChurned;
  }
  if (rule.Step("at_risk",
                {{"P(alive)", p_alive, Op::kLess, "at-risk P(alive)",
                  config.at_risk_p_alive, kUnitRatio,
                  ThresholdSource::kConfiguration}},
                no_p_alive)) {
    return Stage::kAtRisk;
  }
  if (rule.Step("won_back",
                {{"days between the last two purchases", last_gap,
                  Op::kGreater, "churn gap before the last purchase",
                  last_gap_threshold, kUnitDays, last_gap_source}},
                days.size() < 2 ? "a single purchase" : nullptr)) {
    return Stage::kWonBack;
  }
  if (rule.Step("loyal",
                {{"purchases", purchases, Op::kGreaterOrEqual,
                  "loyal purchases",
                  static_cast<double>(config.loyal_min_purchases),
                  kUnitPurchases, ThresholdSource::kConfiguration},
                 {"calendar quarters with a purchase", quarter_count,
                  Op::kGreaterOrEqual, "loyal quarters",
                  static_cast<double>(config.loyal_min_quarters), kUnitCount,
                  ThresholdSource::kConfiguration},
                 {"P(alive)", p_alive, Op::kGreaterOrEqual, "loyal P(alive)",
                  config.loyal_p_alive, kUnitRatio,
                  ThresholdSource::kConfiguration}},
                no_p_alive)) {
    return Stage::kLoyal;
  }
  if (rule.Step("repeat",
                {{"purchases", purchases, Op::kGreaterOrEqual, "", 2,
                  kUnitPurchases, ThresholdSource::kConfiguration}})) {
    return Stage::kRepeat;
  }
  rule.Otherwise("new", "exactly one purchase");
  return Stage::kNew;
}

}  // namespace

Standing StandingOf(const store::v1::CustomerState& state, int64_t as_of_us,
                    const store::v1::PopulationModel& population,
                    const std::string& currency, const StandingConfig& config,
                    StandingExplanations* why) {
  Standing s;
  const int64_t window_us = absl::ToInt64Microseconds(config.window);
  s.facts = PurchaseFactsAt(state, as_of_us, window_us, currency,
                            why != nullptr ? &why->tier.order_ids : nullptr);
  if (why != nullptr) {
    // Margins are net of refunds: the returns of those orders count too.
    why->tier.order_returns = true;
    why->pareto.order_ids = why->tier.order_ids;
    why->pareto.order_returns = true;
  }
  const bool measured = population.as_of_us() != 0;

  // Tiers.
  if (measured) {
    s.pareto_key = ParetoKeyOf(s.facts, population,
                               why != nullptr ? &why->pareto : nullptr);
    s.tier = PyramidTierOf(s.facts, population,
                           why != nullptr ? &why->tier : nullptr);
    s.reference_tier =
        s.tier != PyramidTier::kInactive || s.facts.purchases == 0
            ? s.tier
            : PyramidTierOf(PurchaseFactsAt(state, s.facts.last_purchase_us,
                                            window_us, currency),
                            population);
  } else {
    constexpr char kNotMeasured[] =
        "no population measured yet (kehu fit): no tiers";
    Rule(why != nullptr ? &why->tier : nullptr)
        .Otherwise("inactive", kNotMeasured);
    Rule(why != nullptr ? &why->pareto : nullptr)
        .Otherwise("ordinary", kNotMeasured);
  }

  if (s.facts.purchases > 0) {
    // RFM scores.
    if (measured) {
      s.recency_score = ScoreLowerIsBetter(
          (as_of_us - s.facts.last_purchase_us) / kMicrosPerDay,
          population.recency_days());
      s.frequency_score =
          ScoreHigherIsBetter(s.facts.window_purchases, population.frequency());
      s.monetary_score = ScoreHigherIsBetter(s.facts.window_margin_minor,
                                             population.monetary_minor());
    }

    // Lifetime-value models at as_of.
    const auto& models = population.models();
    const double unit_days =
        models.time_unit_days() > 0 ? models.time_unit_days() : 7;
    std::vector<std::string> purchase_ids;
    const auto purchases = MarginPurchases(
        state, as_of_us, currency, why != nullptr ? &purchase_ids : nullptr);
    const auto summary = Summarize(purchases, as_of_us, unit_days);
    if (measured && summary.has_value() &&
        CheckBgNbdParameters(models.bg_nbd()).ok()) {
      s.has_p_alive = true;
      s.p_alive = ProbabilityAlive(models.bg_nbd(), summary->x, summary->t_x,
                                   summary->t_cal);
      if (why != nullptr) {
        why->churn_risk.order_ids = std::move(purchase_ids);
        // What BG/NBD saw (Summarize: one transaction per day).
        Rule model(&why->churn_risk);
        model.AddFact("repeat purchase days (BG/NBD x)", summary->x,
                      kUnitCount);
        model.AddFact("weeks from the first to the last purchase (t_x)",
                      summary->t_x * unit_days / 7, kUnitWeeks);
        model.AddFact("weeks from the first purchase to as of (T)",
                      summary->t_cal * unit_days / 7, kUnitWeeks);
      }
      if (CheckGammaGammaParameters(models.gamma_gamma()).ok()) {
        ValueHorizon horizon;
        horizon.time_unit_days = unit_days;
        horizon.length =
            absl::ToDoubleHours(config.value_horizon) / 24 / unit_days;
        horizon.annual_rate = config.annual_discount_rate;
        const double value = DiscountedExpectedValue(
            models.bg_nbd(), models.gamma_gamma(), *summary, horizon);
        if (std::isfinite(value)) {
          s.has_current_value = true;
          s.current_value = value;
        }
      }
      // Potential value: what the tier earns in categories never bought.
      const char* tier_name = PyramidTierName(s.reference_tier);
      std::set<std::string> bought;
      for (const auto& order : state.orders()) {
        if (!IsPurchaseAt(order, as_of_us)) continue;
        for (const auto& line : order.lines()) bought.insert(line.category());
      }
      for (const auto& row : population.category_margins()) {
        if (row.tier() != tier_name) continue;
        s.has_potential_value = true;
        for (int i = 0; i < row.categories_size(); ++i) {
          if (bought.count(row.categories(i)) == 0) {
            s.potential_value += row.mean_margin_minor(i) * s.p_alive;
          }
        }
      }
    }
  }
  s.churn_risk_band = ChurnRiskBandOf(
      s.has_p_alive, s.p_alive, config,
      why != nullptr ? &why->churn_risk : nullptr);

  // Lifecycle: the purchase days up to as_of.
  std::vector<int64_t> days;
  for (const auto& order : state.orders()) {
    if (!IsPurchaseAt(order, as_of_us)) continue;
    days.push_back(order.placed_at_us());
    if (why != nullptr) why->stage.order_ids.push_back(order.order_id());
  }
  std::sort(days.begin(), days.end());
  s.cell = MatrixCellOf(s, population,
                        why != nullptr ? &why->matrix_cell : nullptr);
  if (why != nullptr) {
    // Both values come from the purchases (times, margins net of refunds,
    // categories).
    why->matrix_cell.order_ids = why->stage.order_ids;
    why->matrix_cell.order_returns = true;
  }
  s.stage = LifecycleStageOf(days, as_of_us, s.has_p_alive, s.p_alive,
                             population, config, &s.transitions,
                             why != nullptr ? &why->stage : nullptr);

  // Win-back priority of churned and at-risk customers, by tier.
  if (s.stage == Stage::kChurned || s.stage == Stage::kAtRisk) {
    if (s.cell == MatrixCell::kAbandon) {
      s.win_back = WinBack::kDoNotSpend;
    } else {
      switch (s.reference_tier) {
        case PyramidTier::kKey:
          s.win_back = WinBack::kMust;
          break;
        case PyramidTier::kPotential:
          s.win_back = WinBack::kShould;
          break;
        case PyramidTier::kRegular:
          s.win_back = WinBack::kTry;
          break;
        case PyramidTier::kOneTime:
        case PyramidTier::kInactive:
          s.win_back = WinBack::kDoNotSpend;
          break;
      }
    }
  }
  return s;
}

}  // namespace kehu::infra
