// Where one customer stands at a reference time among the population the
// last `kehu fit` measured (store.v1.PopulationModel): RFM scores, Pareto
// and pyramid tier, P(alive) and churn risk, current and potential value,
// the value-matrix cell, the lifecycle stage with its derived transitions,
// and the win-back priority. docs/metrics.md defines each in words.
//
// The population step (projections/population.h) uses the same functions to
// compute the medians it stores, so a customer is always measured the same
// way on both sides.
#ifndef KEHU_INFRA_CUSTOMER_STANDING_H_
#define KEHU_INFRA_CUSTOMER_STANDING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "infra/customer_metrics.h"
#include "infra/explanation.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::infra {

// The thresholds of the standing, with their defaults.
struct StandingConfig {
  // Trailing window of frequency, monetary value and tiers (must be the one
  // the population was measured with).
  absl::Duration window = absl::Hours(24 * 365);
  // Current value: the horizon and the annual discount rate.
  absl::Duration value_horizon = absl::Hours(24 * 365);
  double annual_discount_rate = 0.10;
  // Lifecycle thresholds on P(alive).
  double loyal_p_alive = 0.8;
  double at_risk_p_alive = 0.5;
  double churned_p_alive = 0.2;
  // Loyal: at least this many purchases in at least this many quarters.
  int64_t loyal_min_purchases = 4;
  int64_t loyal_min_quarters = 3;
  // Churn gap: silent for more than this multiple of the customer's median
  // time between purchases, and at least the minimum.
  double churn_gap_multiple = 3;
  absl::Duration min_churn_gap = absl::Hours(24 * 180);
};

enum class PyramidTier { kInactive, kKey, kPotential, kRegular, kOneTime };
enum class MatrixCell { kNone, kVip, kMaintain, kImprove, kAbandon };
enum class Stage {
  kPotential,
  kNew,
  kRepeat,
  kLoyal,
  kAtRisk,
  kChurned,
  kWonBack
};
enum class WinBack { kNone, kMust, kShould, kTry, kDoNotSpend };
// By P(alive), at the lifecycle's thresholds: low at or above the loyal
// one, medium at or above the at-risk one, high at or above the churned
// one, very high below it; unknown without P(alive).
enum class ChurnRiskBand { kUnknown, kLow, kMedium, kHigh, kVeryHigh };

// "key", "potential", "regular", "one_time", "inactive": the names the
// population's category table uses.
const char* PyramidTierName(PyramidTier tier);

// A lifecycle transition that follows from the purchase history and the
// churn gap (the fold records those that follow from purchase counts).
struct DerivedTransition {
  Stage from;
  Stage to;
  int64_t at_us;
};

struct Standing {
  PurchaseFacts facts;
  // 0 without a purchase.
  int recency_score = 0;
  int frequency_score = 0;
  int monetary_score = 0;
  bool pareto_key = false;
  PyramidTier tier = PyramidTier::kInactive;
  // The tier of the customer's last active year: their tier when active,
  // else the tier their margin in the year up to their last purchase would
  // get. Potential value and win-back priority use it.
  PyramidTier reference_tier = PyramidTier::kInactive;
  bool has_p_alive = false;
  double p_alive = 0;
  bool has_current_value = false;
  double current_value = 0;
  bool has_potential_value = false;
  double potential_value = 0;
  MatrixCell cell = MatrixCell::kNone;
  Stage stage = Stage::kPotential;
  std::vector<DerivedTransition> transitions;
  WinBack win_back = WinBack::kNone;
  ChurnRiskBand churn_risk_band = ChurnRiskBand::kUnknown;
};

// Why the standing's classifications came out as they did (explanation.h).
struct StandingExplanations {
  Explanation tier;
  Explanation pareto;
  Explanation stage;
  Explanation churn_risk;
  Explanation matrix_cell;
};

// The pyramid tier of a customer whose trailing facts are `facts`; with
// `why`, records the rule's steps and the facts.
PyramidTier PyramidTierOf(const PurchaseFacts& facts,
                          const store::v1::PopulationModel& population,
                          Explanation* why = nullptr);

// Whether a customer whose trailing facts are `facts` is in the Pareto key
// set; with `why`, records the rule's steps and the facts.
bool ParetoKeyOf(const PurchaseFacts& facts,
                 const store::v1::PopulationModel& population,
                 Explanation* why = nullptr);

// The churn-risk band of P(alive) (unknown when !has_p_alive); with `why`,
// records the rule's steps and the facts.
ChurnRiskBand ChurnRiskBandOf(bool has_p_alive, double p_alive,
                              const StandingConfig& config,
                              Explanation* why = nullptr);

// The value-matrix cell of a standing whose current and potential value
// are known (kNone otherwise); with `why`, records the rule's steps and the
// facts.
MatrixCell MatrixCellOf(const Standing& s,
                        const store::v1::PopulationModel& population,
                        Explanation* why = nullptr);

// The customer's standing at `as_of_us` against `population` (which may
// be empty: before the first fit, only the lifecycle's gap rule and the
// facts are known). With `why`, also explains the tier, the Pareto set,
// the lifecycle stage, the churn-risk band and the value-matrix cell.
Standing StandingOf(const store::v1::CustomerState& state, int64_t as_of_us,
                    const store::v1::PopulationModel& population,
                    const std::string& currency, const StandingConfig& config,
                    StandingExplanations* why = nullptr);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_CUSTOMER_STANDING_H_
