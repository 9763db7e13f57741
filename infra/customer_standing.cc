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
                          const store::v1::PopulationModel& population) {
  if (facts.window_purchases == 0) return PyramidTier::kInactive;
  if (population.pyramid_key_customers() > 0 &&
      facts.window_margin_minor >= population.pyramid_key_cutoff_minor()) {
    return PyramidTier::kKey;
  }
  if (population.pyramid_potential_customers() > 0 &&
      facts.window_margin_minor >=
          population.pyramid_potential_cutoff_minor()) {
    return PyramidTier::kPotential;
  }
  return facts.window_purchases == 1 ? PyramidTier::kOneTime
                                     : PyramidTier::kRegular;
}

Standing StandingOf(const store::v1::CustomerState& state, int64_t as_of_us,
                    const store::v1::PopulationModel& population,
                    const std::string& currency, const StandingConfig& config) {
  Standing s;
  const int64_t window_us = absl::ToInt64Microseconds(config.window);
  s.facts = PurchaseFactsAt(state, as_of_us, window_us, currency);
  const bool measured = population.as_of_us() != 0;
  if (s.facts.purchases == 0) return s;

  // RFM scores and tiers.
  if (measured) {
    s.recency_score = ScoreLowerIsBetter(
        (as_of_us - s.facts.last_purchase_us) / kMicrosPerDay,
        population.recency_days());
    s.frequency_score =
        ScoreHigherIsBetter(s.facts.window_purchases, population.frequency());
    s.monetary_score = ScoreHigherIsBetter(s.facts.window_margin_minor,
                                           population.monetary_minor());
    s.pareto_key =
        s.facts.window_purchases > 0 && population.pareto_key_customers() > 0 &&
        s.facts.window_margin_minor > 0 &&
        s.facts.window_margin_minor >= population.pareto_cutoff_minor();
    s.tier = PyramidTierOf(s.facts, population);
    s.reference_tier =
        s.tier != PyramidTier::kInactive
            ? s.tier
            : PyramidTierOf(PurchaseFactsAt(state, s.facts.last_purchase_us,
                                            window_us, currency),
                            population);
  }

  // Lifetime-value models at as_of.
  const auto& models = population.models();
  const double unit_days =
      models.time_unit_days() > 0 ? models.time_unit_days() : 7;
  const auto purchases = MarginPurchases(state, as_of_us, currency);
  const auto summary = Summarize(purchases, as_of_us, unit_days);
  if (measured && summary.has_value() &&
      CheckBgNbdParameters(models.bg_nbd()).ok()) {
    s.has_p_alive = true;
    s.p_alive = ProbabilityAlive(models.bg_nbd(), summary->x, summary->t_x,
                                 summary->t_cal);
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
  if (s.has_current_value && s.has_potential_value) {
    // At or above the median is high; nothing (zero) never is, so data
    // without categories puts everyone on the low-potential side.
    const bool high_current =
        s.current_value > 0 &&
        s.current_value >= population.median_current_value_minor();
    const bool high_potential =
        s.potential_value > 0 &&
        s.potential_value >= population.median_potential_value_minor();
    s.cell =
        high_current
            ? (high_potential ? MatrixCell::kVip : MatrixCell::kMaintain)
            : (high_potential ? MatrixCell::kImprove : MatrixCell::kAbandon);
  }

  // Lifecycle. Purchase days, then the churn gap before each purchase.
  std::vector<int64_t> days;
  for (const auto& order : state.orders()) {
    if (IsPurchaseAt(order, as_of_us)) days.push_back(order.placed_at_us());
  }
  std::sort(days.begin(), days.end());
  const double multiple = config.churn_gap_multiple;
  const double min_gap_days = absl::ToDoubleHours(config.min_churn_gap) / 24;
  auto churn_gap_days = [&](const std::vector<double>& gaps) {
    const double median =
        gaps.empty() ? population.median_inter_purchase_days() : Median(gaps);
    return std::max(min_gap_days, multiple * median);
  };
  std::vector<double> gaps;
  Stage stage = Stage::kNew;
  bool last_was_win_back = false;
  for (size_t i = 1; i < days.size(); ++i) {
    const double gap = (days[i] - days[i - 1]) / kMicrosPerDay;
    const double threshold = churn_gap_days(gaps);
    last_was_win_back = gap > threshold;
    if (last_was_win_back) {
      const int64_t churned_at =
          days[i - 1] + static_cast<int64_t>(threshold * kMicrosPerDay);
      s.transitions.push_back({stage, Stage::kChurned, churned_at});
      s.transitions.push_back({Stage::kChurned, Stage::kWonBack, days[i]});
    }
    gaps.push_back(gap);
    stage = last_was_win_back ? Stage::kWonBack : Stage::kRepeat;
  }
  const double silence = (as_of_us - days.back()) / kMicrosPerDay;
  const double threshold_now = churn_gap_days(gaps);
  std::set<int64_t> quarters;
  for (int64_t d : days) quarters.insert(QuarterOf(d));

  if (silence > threshold_now ||
      (s.has_p_alive && s.p_alive < config.churned_p_alive)) {
    s.stage = Stage::kChurned;
    if (silence > threshold_now) {
      s.transitions.push_back(
          {stage, Stage::kChurned,
           days.back() + static_cast<int64_t>(threshold_now * kMicrosPerDay)});
    }
  } else if (s.has_p_alive && s.p_alive < config.at_risk_p_alive) {
    s.stage = Stage::kAtRisk;
  } else if (last_was_win_back) {
    s.stage = Stage::kWonBack;
  } else if (static_cast<int64_t>(days.size()) >= config.loyal_min_purchases &&
             static_cast<int64_t>(quarters.size()) >=
                 config.loyal_min_quarters &&
             s.has_p_alive && s.p_alive >= config.loyal_p_alive) {
    s.stage = Stage::kLoyal;
  } else {
    s.stage = days.size() >= 2 ? Stage::kRepeat : Stage::kNew;
  }

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
