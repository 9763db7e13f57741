#include "infra/lifetime_value.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "infra/check.h"

namespace kehu::infra {
namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// The Gauss series is summed up to 0.9; above, the connection formula in
// 1 - z <= 0.1 converges much faster.
constexpr double kSeriesLimit = 0.9;
// Stop summing when the bound on the tail is below this share of the sum.
constexpr double kSeriesTolerance = 1e-17;
constexpr int64_t kMaxSeriesTerms = 1000000;
// Distance from an integer c - a - b below which the connection formula is
// replaced by interpolation (its terms grow like 1 / distance and cancel).
constexpr double kIntegerGap = 1e-4;
// Distance from a = 1 below which the BG/NBD expectations are interpolated
// (their closed form is 0 / 0 at a = 1, and loses ~1e-16 / |a - 1| near it).
constexpr double kUnitAGap = 1e-4;

bool IsNonPositiveInteger(double v) { return v <= 0 && v == std::floor(v); }

bool Positive(double v) { return std::isfinite(v) && v > 0; }

bool Valid(const store::v1::BgNbdParameters& p) {
  return Positive(p.r()) && Positive(p.alpha()) && Positive(p.a()) &&
         Positive(p.b());
}

bool Valid(const store::v1::GammaGammaParameters& p) {
  return Positive(p.p()) && Positive(p.q()) && Positive(p.gamma());
}

absl::Status CheckPositive(const std::string& name, double value) {
  if (Positive(value)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "model parameter ", name, " must be finite and positive, got ", value,
      " (has the model been fitted?)"));
}

// log|Gamma(v)| and the sign of Gamma(v); sign 0 at the poles (v a
// non-positive integer), where 1 / Gamma(v) = 0.
struct SignedLogGamma {
  double log_abs;
  int sign;
};

SignedLogGamma LogGamma(double v) {
  if (IsNonPositiveInteger(v)) return {kInfinity, 0};
  int sign = 1;
  // Gamma is negative on (-1, 0), (-3, -2), ...: where floor(v) is odd.
  if (v < 0 && static_cast<int64_t>(std::floor(v)) % 2 != 0) sign = -1;
  return {std::lgamma(v), sign};
}

// The Gauss series of 2F1(a, b; c; z) for one (a, b, c), summed at any
// |z| < 1.
//
// Stopping rule: the ratio of term m+1 to term m is
//   z * (a+m)/(c+m) * (b+m)/(m+1),
// and once a+m, b+m and c+m are positive each of the two fractions moves
// monotonically towards 1 as m grows. So over all later terms the ratio is
// at most |z| * max(1, (a+m)/(c+m)) * max(1, (b+m)/(m+1)) at the next m: when
// that bound R is below 1, the tail is at most |term| * R / (1 - R). The bound
// holds from the first term, whatever the size of the parameters (fitted
// models can have a and c near 10^5 and more, where waiting for the terms to
// "settle" would take that many terms for every call).
//
// The terms' ratios without z and the two factors of the bound are computed
// once, as far as a sum has needed them, and kept: a current value sums the
// series of one (a, b, c) at the 52 z of its weekly slices, and the
// divisions were most of that. A sum is the same, to the bit, as summing
// afresh.
class GaussSeries {
 public:
  GaussSeries(double a, double b, double c) : a_(a), b_(b), c_(c) {}

  bool Of(double a, double b, double c) const {
    return a == a_ && b == b_ && c == c_;
  }

  double Sum(double z) {
    double term = 1;
    double sum = 1;
    for (size_t n = 0; n < static_cast<size_t>(kMaxSeriesTerms); ++n) {
      if (n == ratio_.size()) Extend();
      term *= ratio_[n] * z;
      sum += term;
      if (term == 0) return sum;  // a terminating series, or underflow
      if (!bounded_[n]) continue;
      const double ratio = std::abs(z) * over_c_[n] * over_m_[n];
      // |term| * R / (1 - R) <= tolerance * |sum|, with 1 - R > 0.
      if (ratio < 1 && std::abs(term) * ratio <=
                           kSeriesTolerance * std::abs(sum) * (1 - ratio)) {
        return sum;
      }
    }
    return kNaN;
  }

 private:
  // Appends what term n + 1 needs.
  void Extend() {
    const double dn = static_cast<double>(ratio_.size());
    ratio_.push_back((a_ + dn) * (b_ + dn) / ((c_ + dn) * (dn + 1)));
    const double m = dn + 1;  // the next ratio's index
    bounded_.push_back(a_ + m > 0 && b_ + m > 0 && c_ + m > 0);
    // max(1, p / q) for q > 0, dividing only when p > q.
    over_c_.push_back(a_ > c_ ? (a_ + m) / (c_ + m) : 1.0);
    over_m_.push_back(b_ > 1 ? (b_ + m) / (m + 1) : 1.0);
  }

  double a_, b_, c_;
  std::vector<double> ratio_;  // (a+n)(b+n) / ((c+n)(n+1))
  std::vector<bool> bounded_;  // the tail bound holds from term n + 1
  std::vector<double> over_c_;  // max(1, (a+m)/(c+m)), m = n + 1
  std::vector<double> over_m_;  // max(1, (b+m)/(m+1))
};

// The Gauss series already summed for one caller, by their parameters.
class SeriesCache {
 public:
  GaussSeries& Of(double a, double b, double c) {
    for (GaussSeries& series : series_) {
      if (series.Of(a, b, c)) return series;
    }
    return series_.emplace_back(a, b, c);
  }

 private:
  std::deque<GaussSeries> series_;  // references stay valid as it grows
};

// Evaluates at offset d (|d| < h) from a removable singularity a smooth
// function known through `f`, which is accurate only away from it: cubic
// Lagrange interpolation between f(-2h), f(-h), f(h), f(2h). The error is
// O(h^4) from the interpolation, plus f's own error at distance h.
template <typename F>
double InterpolateAcross(double d, double h, const F& f) {
  const double nodes[4] = {-2 * h, -h, h, 2 * h};
  double result = 0;
  for (int k = 0; k < 4; ++k) {
    double weight = 1;
    for (int j = 0; j < 4; ++j) {
      if (j != k) weight *= (d - nodes[j]) / (nodes[k] - nodes[j]);
    }
    result += weight * f(nodes[k]);
  }
  return result;
}

// Coefficient sign * exp(log_abs) of a term of the connection formula.
double Coefficient(int sign, double log_abs) {
  if (sign == 0) return 0;
  return sign * std::exp(log_abs);
}

// 2F1(a, b; c; z) by Abramowitz & Stegun 15.3.6, for c - a - b not an
// integer:
//   Gamma(c) Gamma(m) / (Gamma(c-a) Gamma(c-b)) 2F1(a, b; 1-m; 1-z)
//   + (1-z)^m Gamma(c) Gamma(-m) / (Gamma(a) Gamma(b)) 2F1(c-a, c-b; 1+m; 1-z)
// with m = c - a - b.
double ConnectionFormula(double a, double b, double c, double z,
                         SeriesCache& cache) {
  const double m = c - a - b;
  const double w = 1 - z;
  const SignedLogGamma gc = LogGamma(c);
  const SignedLogGamma gm = LogGamma(m);
  const SignedLogGamma gminus_m = LogGamma(-m);
  const SignedLogGamma gca = LogGamma(c - a);
  const SignedLogGamma gcb = LogGamma(c - b);
  const SignedLogGamma ga = LogGamma(a);
  const SignedLogGamma gb = LogGamma(b);

  double result = 0;
  // A pole in a denominator Gamma makes a term vanish (1 / Gamma = 0).
  if (gca.sign != 0 && gcb.sign != 0) {
    const double k1 =
        Coefficient(gc.sign * gm.sign * gca.sign * gcb.sign,
                    gc.log_abs + gm.log_abs - gca.log_abs - gcb.log_abs);
    result += k1 * cache.Of(a, b, 1 - m).Sum(w);
  }
  if (ga.sign != 0 && gb.sign != 0) {
    const double k2 = Coefficient(gc.sign * gminus_m.sign * ga.sign * gb.sign,
                                  gc.log_abs + gminus_m.log_abs - ga.log_abs -
                                      gb.log_abs + m * std::log(w));
    result += k2 * cache.Of(c - a, c - b, 1 + m).Sum(w);
  }
  return result;
}

// Hypergeometric2F1(), with the series summed in `cache`.
double Hypergeometric(double a, double b, double c, double z,
                      SeriesCache& cache) {
  if (!(z >= 0 && z < 1) || IsNonPositiveInteger(c) || !std::isfinite(a) ||
      !std::isfinite(b) || !std::isfinite(c)) {
    return kNaN;
  }
  if (z == 0 || a == 0 || b == 0) return 1;
  if (z <= kSeriesLimit) return cache.Of(a, b, c).Sum(z);

  const double m = c - a - b;
  const double n = std::round(m);
  const double d = m - n;
  if (std::abs(d) >= kIntegerGap) return ConnectionFormula(a, b, c, z, cache);
  // 15.3.6 is singular at integer m, but 2F1 is smooth in c: interpolate
  // between values of c that put m at least kIntegerGap from n, where the
  // formula's terms cancel only to about 1e-16 / kIntegerGap.
  return InterpolateAcross(d, kIntegerGap, [&](double offset) {
    return ConnectionFormula(a, b, a + b + n + offset, z, cache);
  });
}

// (a+b+x-1)/(a-1) * (1 - ((alpha+T)/(alpha+T+t))^(r+x)
//                        * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))):
// E[Y(t) | x, t_x, T] of a customer known to be alive (FHL 2005, eq. 10
// without its denominator, which is 1 / P(alive)).
double AliveExpectedTransactions(const store::v1::BgNbdParameters& p, double x,
                                 double t_cal, double t, SeriesCache& cache) {
  if (t <= 0) return 0;
  const double r = p.r();
  const double alpha = p.alpha();
  const double b = p.b();
  const double z = t / (alpha + t_cal + t);
  const double log_w = -std::log1p(t / (alpha + t_cal));  // ln(1 - z)
  // Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)
  // turns (1-z)^(r+x) 2F1(r+x, b+x; C; z) into
  // (1-z)^(a-1) 2F1(a+b-1-r, a-1; C; z): its upper parameters no longer
  // grow with x, so frequent buyers neither overflow nor slow the series.
  auto at = [&](double a) {
    const double c = a + b + x - 1;
    const double f = Hypergeometric(a + b - 1 - r, a - 1, c, z, cache);
    return c / (a - 1) * (1 - std::exp((a - 1) * log_w) * f);
  };
  const double a = p.a();
  if (std::abs(a - 1) >= kUnitAGap) return at(a);
  // 0 / 0 at a = 1, but the expectation is smooth in a.
  return InterpolateAcross(a - 1, kUnitAGap,
                           [&](double offset) { return at(1 + offset); });
}

}  // namespace

absl::Status CheckBgNbdParameters(const store::v1::BgNbdParameters& params) {
  if (absl::Status s = CheckPositive("r", params.r()); !s.ok()) return s;
  if (absl::Status s = CheckPositive("alpha", params.alpha()); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPositive("a", params.a()); !s.ok()) return s;
  return CheckPositive("b", params.b());
}

absl::Status CheckGammaGammaParameters(
    const store::v1::GammaGammaParameters& params) {
  if (absl::Status s = CheckPositive("p", params.p()); !s.ok()) return s;
  if (absl::Status s = CheckPositive("q", params.q()); !s.ok()) return s;
  return CheckPositive("gamma", params.gamma());
}

double Hypergeometric2F1(double a, double b, double c, double z) {
  SeriesCache cache;
  return Hypergeometric(a, b, c, z, cache);
}

double ExpectedTransactions(const store::v1::BgNbdParameters& params,
                            double t) {
  if (!Valid(params) || !(t >= 0)) return kNaN;
  SeriesCache cache;
  return AliveExpectedTransactions(params, /*x=*/0, /*t_cal=*/0, t, cache);
}

double ProbabilityAlive(const store::v1::BgNbdParameters& params, double x,
                        double t_x, double t_cal) {
  if (!Valid(params) || !(x >= 0) || !(t_x >= 0) || !(t_cal >= t_x)) {
    return kNaN;
  }
  if (x == 0) return 1;
  // 1 / (1 + a / (b+x-1) * ((alpha+T) / (alpha+t_x))^(r+x)), with the
  // odds of death taken in log space: the power overflows for frequent
  // buyers who stopped long ago (the probability is then 0, correctly).
  const double log_odds =
      std::log(params.a()) - std::log(params.b() + x - 1) +
      (params.r() + x) * std::log1p((t_cal - t_x) / (params.alpha() + t_x));
  return 1 / (1 + std::exp(log_odds));
}

double ConditionalExpectedTransactions(const store::v1::BgNbdParameters& params,
                                       double x, double t_x, double t_cal,
                                       double t) {
  if (!Valid(params) || !(t >= 0)) return kNaN;
  const double alive = ProbabilityAlive(params, x, t_x, t_cal);
  if (std::isnan(alive)) return kNaN;
  if (alive == 0) return 0;
  SeriesCache cache;
  return AliveExpectedTransactions(params, x, t_cal, t, cache) * alive;
}

double ExpectedSpend(const store::v1::GammaGammaParameters& params, double x,
                     double m_x) {
  if (!Valid(params) || !(x >= 0) || !(m_x >= 0)) return kNaN;
  const double denominator = params.p() * x + params.q() - 1;
  if (denominator <= 0) return kInfinity;
  return (params.gamma() + x * m_x) * params.p() / denominator;
}

double DiscountedExpectedValue(
    const store::v1::BgNbdParameters& bg_nbd,
    const store::v1::GammaGammaParameters& gamma_gamma,
    const CalibrationSummary& activity, const ValueHorizon& horizon) {
  if (!(horizon.length >= 0) || !(horizon.time_unit_days > 0) ||
      !(horizon.annual_rate > -1) || !std::isfinite(horizon.length)) {
    return kNaN;
  }
  const double spend = ExpectedSpend(gamma_gamma, activity.x, activity.m_x);
  if (std::isnan(spend)) return kNaN;
  const double log_growth = std::log1p(horizon.annual_rate);
  const int64_t slices = static_cast<int64_t>(std::ceil(horizon.length));
  // ConditionalExpectedTransactions() at the end of every slice, with what
  // does not depend on the end computed once: P(alive), and the series,
  // which every slice sums at another z.
  // (NaN for parameters that are not valid.)
  const double alive =
      ProbabilityAlive(bg_nbd, activity.x, activity.t_x, activity.t_cal);
  if (slices > 0 && std::isnan(alive)) return kNaN;
  SeriesCache cache;
  double previous = 0;
  double transactions = 0;  // discounted
  for (int64_t k = 1; k <= slices; ++k) {
    const double end = std::min(static_cast<double>(k), horizon.length);
    const double expected =
        alive == 0 ? 0
                   : AliveExpectedTransactions(bg_nbd, activity.x,
                                               activity.t_cal, end, cache) *
                         alive;
    if (std::isnan(expected)) return kNaN;
    const double days = end * horizon.time_unit_days;
    transactions += (expected - previous) * std::exp(-log_growth * days / 365);
    previous = expected;
  }
  if (transactions == 0) return 0;  // avoid 0 * infinity
  return transactions * spend;
}

std::optional<CalibrationSummary> Summarize(
    const std::vector<Purchase>& purchases, int64_t calibration_end_us,
    double time_unit_days) {
  KEHU_CHECK(time_unit_days > 0);
  std::vector<Purchase> in_calibration;
  for (const Purchase& p : purchases) {
    if (p.first <= calibration_end_us) in_calibration.push_back(p);
  }
  if (in_calibration.empty()) return std::nullopt;
  std::sort(in_calibration.begin(), in_calibration.end());

  // Transactions: one per UTC day, at its earliest purchase.
  std::vector<Purchase> transactions;
  for (const Purchase& p : in_calibration) {
    if (!transactions.empty() &&
        FloorDiv(transactions.back().first, kMicrosPerDay) ==
            FloorDiv(p.first, kMicrosPerDay)) {
      transactions.back().second += p.second;
    } else {
      transactions.push_back(p);
    }
  }
  const double unit_us = time_unit_days * static_cast<double>(kMicrosPerDay);
  const int64_t first_us = transactions.front().first;
  CalibrationSummary s;
  s.x = static_cast<double>(transactions.size() - 1);
  s.t_x = static_cast<double>(transactions.back().first - first_us) / unit_us;
  s.t_cal = static_cast<double>(calibration_end_us - first_us) / unit_us;
  if (transactions.size() > 1) {
    int64_t repeat_value = 0;
    for (size_t i = 1; i < transactions.size(); ++i) {
      repeat_value += transactions[i].second;
    }
    s.m_x = static_cast<double>(repeat_value) / s.x;
  }
  return s;
}

}  // namespace kehu::infra
