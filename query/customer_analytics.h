// Customer analytics evaluated at query time: the figures of a customer's
// view that depend on a reference time `as_of` (recency, trailing windows,
// complaint ages) or on configured thresholds, weights and unit costs.
// docs/metrics.md defines each figure in words; this is the code.
//
// Everything here is a pure function of the stored CustomerState, as_of and
// the configuration, so the same question always gets the same answer.
// Events after as_of are ignored where their time is known (orders,
// complaints, surveys).
#ifndef KEHU_QUERY_CUSTOMER_ANALYTICS_H_
#define KEHU_QUERY_CUSTOMER_ANALYTICS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "infra/customer_standing.h"
#include "infra/explanation.h"
#include "kehu/query/v1/query.pb.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::query {

// The thresholds, weights and unit costs of the analytics, with their
// defaults. Money in minor units of the reporting currency.
struct AnalyticsConfig {
  // Window of RFM frequency and monetary value, ending at as_of.
  absl::Duration rfm_window = absl::Hours(24 * 365);
  // A complaint not resolved within this time breaches the SLA.
  absl::Duration complaint_sla = absl::Hours(48);

  // Cost to serve, per interaction.
  int64_t call_cost_minor = 500;
  int64_t email_cost_minor = 20;
  int64_t complaint_cost_minor = 2500;

  // Satisfaction index weights; components a customer lacks drop out and
  // the rest are renormalised.
  double satisfaction_csat_weight = 0.30;
  double satisfaction_nps_weight = 0.20;
  double satisfaction_complaint_rate_weight = 0.20;
  double satisfaction_resolution_weight = 0.15;
  double satisfaction_repurchase_weight = 0.10;
  double satisfaction_returns_weight = 0.05;
  // Satisfaction bands: high at or above the first, medium at or above the
  // second, low below it.
  double satisfaction_high_band = 75;
  double satisfaction_medium_band = 50;

  // Loyalty index weights, renormalised the same way.
  double loyalty_repeat_weight = 1.0 / 6;
  double loyalty_regularity_weight = 1.0 / 6;
  double loyalty_price_weight = 1.0 / 6;
  double loyalty_trend_weight = 1.0 / 6;
  double loyalty_tenure_weight = 1.0 / 6;
  double loyalty_after_complaint_weight = 1.0 / 6;
  // Repeat purchases that score the full 100.
  int64_t loyalty_full_repeat_purchases = 10;
  // Tenure that scores the full 100.
  absl::Duration loyalty_full_tenure = absl::Hours(24 * 3 * 365);
  // The spend trend compares the last window with the one before.
  absl::Duration spend_trend_window = absl::Hours(24 * 180);

  // Lifecycle, value and tier thresholds (infra/customer_standing.h).
  infra::StandingConfig standing;
};

// Why the view's classifications came out as they did
// (infra/explanation.h).
struct CustomerExplanations {
  infra::StandingExplanations standing;
  infra::Explanation satisfaction;
};

// Fills the time-relative and configured parts of `view` (as_of, currency,
// rfm, satisfaction, loyalty, credit, profit, value, segments, the
// lifecycle stage at as_of and the complaint figures) from `state`, placing
// the customer in `population` (empty before the first `kehu fit`).
// `currency` is the reporting currency. With `why`, also explains the
// tier, the Pareto set, the lifecycle stage, the satisfaction band and the
// churn-risk band.
void EvaluateCustomer(const store::v1::CustomerState& state, absl::Time as_of,
                      const std::string& currency,
                      const store::v1::PopulationModel& population,
                      const AnalyticsConfig& config,
                      query::v1::CustomerView* view,
                      CustomerExplanations* why = nullptr);

// The company satisfaction index of a month (or any group): the customer
// formula applied to the pooled figures — mean CSAT and NPS answer,
// complaints per purchase, resolution (share of the month's complaints
// resolved, capped at 1, and share of resolutions within the SLA), share of
// purchases that were repeat purchases, share not returned. Returns false
// when the figures hold no component.
bool CompanySatisfactionIndex(const store::v1::SatisfactionFigures& f,
                              const AnalyticsConfig& config, double* index);

}  // namespace kehu::query

#endif  // KEHU_QUERY_CUSTOMER_ANALYTICS_H_
