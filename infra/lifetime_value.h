// Lifetime-value predictions from fitted model parameters, evaluated at
// query time: how many purchases a customer will make (BG/NBD), whether they
// are still "alive", what each purchase will be worth (Gamma-Gamma), and the
// discounted value of all that over a horizon ("current value" in the value
// view).
//
// Operation
//   The parameters are fitted by projections/lifetime_value_fit.h (over
//   summaries made by Summarize() below) and stored
//   as kehu.store.v1.ModelParameters. A customer's history enters as the
//   summary the fit uses: x = repeat transactions (the first purchase is not
//   counted; purchases on the same UTC day are one transaction), t_x = time
//   of the last one since the first purchase, t_cal = time from the first
//   purchase to the reference time ("T" in the papers), m_x = mean value of
//   the repeat transactions. Times are in the unit the parameters were
//   fitted in (ModelParameters.time_unit_days); money in the unit of m_x
//   (kehu: minor units of one currency).
//
//   Formulas: Fader, Hardie & Lee (2005), "Counting your customers the easy
//   way", Marketing Science 24(2), eqs. 9-11 and its technical notes; and
//   Fader, Hardie & Lee (2005), "RFM and CLV", Journal of Marketing
//   Research 42(4) for Gamma-Gamma.
//
// Concurrency
//   Pure functions of their arguments; safe from any thread.
//
// Limitations
//   The functions take doubles and return doubles. Parameters that fail
//   CheckBgNbdParameters() / CheckGammaGammaParameters() (e.g. a
//   default-constructed message, before any fit) or arguments outside
//   their REQUIRES give NaN, never a crash: check the parameters once, when
//   reading them from the store. The expectations are accurate to about
//   1e-12 relative (Hypergeometric2F1() bounds them); their closed form is
//   0/0 at a = 1, where they are interpolated in a (within 1e-4 of 1) to
//   the same accuracy. Each expectation costs one 2F1: microseconds.
#ifndef KEHU_INFRA_LIFETIME_VALUE_H_
#define KEHU_INFRA_LIFETIME_VALUE_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::infra {

// One purchase: when (microseconds since the epoch) and its value (minor
// units of the reporting currency; kehu uses the order's margin, see
// infra::MarginPurchases()).
using Purchase = std::pair<int64_t /*at_us*/, int64_t /*value_minor*/>;

// A customer as the models see them at a reference time (the end of the
// calibration period when fitting, as_of when predicting). Times are in the
// parameters' time unit, measured from the first purchase.
struct CalibrationSummary {
  // Repeat transactions: transactions after the first one.
  double x = 0;
  // Time of the last transaction (0 when x == 0).
  double t_x = 0;
  // Time from the first purchase to the reference time ("T" in the papers).
  double t_cal = 0;
  // Mean value of the repeat transactions (the first one excluded, as it
  // is often atypical); 0 when x == 0.
  double m_x = 0;
};

// Summarizes `purchases` (in any order) at `calibration_end_us`, with times
// in units of `time_unit_days` days (7 = weeks). Purchases after
// calibration_end_us are ignored; purchases on the same UTC calendar day
// are one transaction, at the day's earliest purchase time and worth the
// sum of their values. Pass the midnight that starts the last calibration
// day to reproduce the literature's "through day D inclusive" (a day's
// purchases, recorded at midnight, are then included and T counts whole
// days).
// Returns nullopt when no purchase falls in the calibration period.
// REQUIRES: time_unit_days > 0.
std::optional<CalibrationSummary> Summarize(
    const std::vector<Purchase>& purchases, int64_t calibration_end_us,
    double time_unit_days);

// Returns OK when r, alpha, a and b are finite and positive, otherwise
// FailedPrecondition naming the first bad parameter (parameters that were
// never fitted are all 0).
absl::Status CheckBgNbdParameters(const store::v1::BgNbdParameters& params);

// Returns OK when p, q and gamma are finite and positive, otherwise
// FailedPrecondition naming the first bad parameter.
absl::Status CheckGammaGammaParameters(
    const store::v1::GammaGammaParameters& params);

// Returns the Gauss hypergeometric function 2F1(a, b; c; z) for real
// parameters and 0 <= z < 1.
//
// Method:
//   - z <= 0.9: the Gauss series sum_n (a)_n (b)_n / ((c)_n n!) z^n, summed
//     until a geometric bound on the remaining tail (from the term ratio
//     and z) is below 1e-17 of the sum; at most 10^6 terms.
//   - z > 0.9: the connection formula to 1 - z (Abramowitz & Stegun
//     15.3.6), whose two series in 1 - z < 0.1 converge in a few dozen
//     terms: long horizons (z = t / (alpha + t) -> 1) stay exact and cheap.
//     Gamma-function ratios are taken in log space (with signs), so
//     parameters in the hundreds do not overflow. The formula is singular
//     when m = c - a - b is an integer; within 1e-4 of one, the value is a
//     cubic interpolation in c through m = n -/+ 1e-4 and n -/+ 2e-4.
// Accuracy (against 60-digit references, see the tests): about 1e-15
// relative on the series, 1e-14 on the connection formula, and 1e-10 (4e-11
// seen) when c - a - b is within 1e-4 of an integer.
// Limits: NaN when z is outside [0, 1), when c is a non-positive integer
// (undefined), or when the series does not converge in 10^6 terms (z <= 0.9
// with parameters beyond ~10^5). Values beyond the double range overflow
// to infinity.
double Hypergeometric2F1(double a, double b, double c, double z);

// Returns E[X(t)], the expected number of transactions of a customer just
// acquired (at time 0, with no history) in (0, t] (FHL 2005, eq. 9).
// REQUIRES: t >= 0.
double ExpectedTransactions(const store::v1::BgNbdParameters& params, double t);

// Returns E[Y(t) | x, t_x, t_cal], the expected number of transactions in
// the next t time units of a customer with the given history (FHL 2005,
// eq. 10).
// REQUIRES: x >= 0, 0 <= t_x <= t_cal, t >= 0 (t_x = 0 when x = 0).
double ConditionalExpectedTransactions(const store::v1::BgNbdParameters& params,
                                       double x, double t_x, double t_cal,
                                       double t);

// Returns P(alive | x, t_x, t_cal), the probability that the customer has
// not dropped out by t_cal (FHL 2005 technical note, the BTYD
// bgnbd.PAlive). A customer without repeat purchases is alive with
// probability 1: in BG/NBD drop-out happens only right after a purchase.
// REQUIRES: x >= 0, 0 <= t_x <= t_cal.
double ProbabilityAlive(const store::v1::BgNbdParameters& params, double x,
                        double t_x, double t_cal);

// Returns E[M | x, m_x], the expected value of the customer's future
// transactions: (gamma + x m_x) p / (p x + q - 1), a weighted mean of the
// population mean p gamma / (q - 1) and the customer's own mean m_x. For
// x = 0 it is the population mean. Returns +infinity when the expectation
// does not exist (p x + q <= 1).
// REQUIRES: x >= 0, m_x >= 0.
double ExpectedSpend(const store::v1::GammaGammaParameters& params, double x,
                     double m_x);

// How far ahead to value a customer and at what discount.
struct ValueHorizon {
  // Length of the horizon, in time units (52 weeks = one year with
  // time_unit_days = 7).
  double length = 52;
  // Length of one time unit in days; must equal the parameters' unit.
  double time_unit_days = 7;
  // Annual discount rate: 0.1 means a purchase one year (365 days) ahead is
  // worth 1 / 1.1 of the same purchase today. 0 disables discounting.
  double annual_rate = 0;
};

// Returns the customer's current value: the expected value of their
// transactions over the horizon, discounted to the reference time.
//
// The horizon is cut into slices of one time unit (the last one shorter if
// the length is not whole). The expected transactions of each slice are
// the increment of ConditionalExpectedTransactions() over it; they are
// valued at ExpectedSpend() and discounted by (1 + annual_rate)^(-d / 365)
// where d is the slice's end in days (transactions are taken to happen at
// the end of their slice: a slightly conservative, per-period discounting).
// With annual_rate = 0 the result is ConditionalExpectedTransactions(...,
// length) * ExpectedSpend(...) up to rounding. Costs one expectation per
// slice: a year in weeks is 52.
// REQUIRES: as for ConditionalExpectedTransactions(); horizon.length >= 0,
// horizon.time_unit_days > 0, horizon.annual_rate > -1.
double DiscountedExpectedValue(
    const store::v1::BgNbdParameters& bg_nbd,
    const store::v1::GammaGammaParameters& gamma_gamma,
    const CalibrationSummary& activity, const ValueHorizon& horizon);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_LIFETIME_VALUE_H_
