#include "projections/lifetime_value_fit.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "infra/check.h"

namespace kehu::projections {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// The optimizer works on log-parameters within +/- kMaxLogParameter
// (e^30 ~ 1e13); an optimum beyond +/- kDivergedLogParameter means the
// likelihood keeps rising towards 0 or infinity: there is no interior
// maximum to report.
constexpr double kMaxLogParameter = 30;
constexpr double kDivergedLogParameter = 25;
// Nelder-Mead's first simplex, and each restart's, in log-parameter space.
constexpr double kFirstStep = 0.5;
constexpr double kRestartStep = 0.1;
constexpr int kMaxRestarts = 50;
// A simplex whose best value has not improved in this many evaluations
// lies on a flat ridge it will not leave: a converging one improves every
// few dozen.
constexpr int kStallEvaluations = 5000;

// log(e^u + e^v) without overflow; v may be -infinity.
double LogSumExp(double u, double v) {
  const double hi = std::max(u, v);
  const double lo = std::min(u, v);
  if (lo == -kInfinity) return hi;
  return hi + std::log1p(std::exp(lo - hi));
}

// The distinct values of x in a population (sorted), and each customer's
// index among them: the Gamma-function terms of both likelihoods depend
// on the parameters and x only, so they are computed once per distinct x.
struct DistinctCounts {
  std::vector<double> values;
  std::vector<size_t> index;  // per customer
};

DistinctCounts IndexCounts(const std::vector<double>& xs) {
  DistinctCounts d;
  d.values = xs;
  std::sort(d.values.begin(), d.values.end());
  d.values.erase(std::unique(d.values.begin(), d.values.end()), d.values.end());
  d.index.reserve(xs.size());
  for (double x : xs) {
    d.index.push_back(static_cast<size_t>(
        std::lower_bound(d.values.begin(), d.values.end(), x) -
        d.values.begin()));
  }
  return d;
}

// A population prepared for many BG/NBD likelihood evaluations.
class BgNbdData {
 public:
  explicit BgNbdData(absl::Span<const CalibrationSummary> population) {
    std::vector<double> xs;
    xs.reserve(population.size());
    for (const auto& c : population) {
      xs.push_back(c.x);
      t_x_.push_back(c.t_x);
      t_cal_.push_back(c.t_cal);
    }
    counts_ = IndexCounts(xs);
  }

  // FHL 2005 eq. 6 in log space: for each customer,
  //   log[B(a, b+x) / B(a, b)] + log[Gamma(r+x) alpha^r / Gamma(r)]
  //   + log[(alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x)],
  // using B(a+1, b+x-1) / B(a, b+x) = a / (b+x-1).
  double LogLikelihood(double r, double alpha, double a, double b) const {
    if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) return -kInfinity;
    const size_t k = counts_.values.size();
    std::vector<double> constant(k);  // terms that depend on x only
    std::vector<double> drop(k);      // log(a / (b+x-1)), x > 0
    const double log_alpha = std::log(alpha);
    const double lg_r = std::lgamma(r);
    const double lg_ab = std::lgamma(a + b);
    const double lg_b = std::lgamma(b);
    for (size_t i = 0; i < k; ++i) {
      const double x = counts_.values[i];
      constant[i] = std::lgamma(r + x) - lg_r + r * log_alpha + lg_ab +
                    std::lgamma(b + x) - lg_b - std::lgamma(a + b + x);
      drop[i] = x > 0 ? std::log(a) - std::log(b + x - 1) : -kInfinity;
    }
    double sum = 0;
    for (size_t j = 0; j < t_cal_.size(); ++j) {
      const size_t i = counts_.index[j];
      const double rx = r + counts_.values[i];
      const double survived = -rx * std::log(alpha + t_cal_[j]);
      const double dropped = drop[i] == -kInfinity
                                 ? -kInfinity
                                 : drop[i] - rx * std::log(alpha + t_x_[j]);
      sum += constant[i] + LogSumExp(survived, dropped);
    }
    return sum;
  }

 private:
  DistinctCounts counts_;
  std::vector<double> t_x_;
  std::vector<double> t_cal_;
};

// The customers Gamma-Gamma covers (x > 0, m_x > 0), prepared for many
// likelihood evaluations.
class GammaGammaData {
 public:
  explicit GammaGammaData(absl::Span<const CalibrationSummary> population) {
    std::vector<double> xs;
    for (const auto& c : population) {
      if (!(c.x > 0 && c.m_x > 0)) continue;
      xs.push_back(c.x);
      m_x_.push_back(c.m_x);
      log_m_x_.push_back(std::log(c.m_x));
    }
    counts_ = IndexCounts(xs);
    log_x_.reserve(counts_.values.size());
    for (double x : counts_.values) log_x_.push_back(std::log(x));
  }

  size_t size() const { return m_x_.size(); }

  double MeanSpend() const {
    if (m_x_.empty()) return 0;
    return std::accumulate(m_x_.begin(), m_x_.end(), 0.0) /
           static_cast<double>(m_x_.size());
  }

  // The density of a customer's mean spend m_x over x transactions
  // (Fader & Hardie 2013, eq. 2), in log space:
  //   lgamma(px+q) - lgamma(px) - lgamma(q) + q log(gamma)
  //   + (px-1) log(m_x) + px log(x) - (px+q) log(gamma + m_x x).
  double LogLikelihood(double p, double q, double gamma) const {
    if (!(p > 0 && q > 0 && gamma > 0)) return -kInfinity;
    const size_t k = counts_.values.size();
    std::vector<double> constant(k);
    const double lg_q = std::lgamma(q);
    const double log_gamma = std::log(gamma);
    for (size_t i = 0; i < k; ++i) {
      const double px = p * counts_.values[i];
      constant[i] = std::lgamma(px + q) - std::lgamma(px) - lg_q +
                    q * log_gamma + px * log_x_[i];
    }
    double sum = 0;
    for (size_t j = 0; j < m_x_.size(); ++j) {
      const size_t i = counts_.index[j];
      const double x = counts_.values[i];
      const double px = p * x;
      sum += constant[i] + (px - 1) * log_m_x_[j] -
             (px + q) * std::log(gamma + m_x_[j] * x);
    }
    return sum;
  }

 private:
  DistinctCounts counts_;
  std::vector<double> m_x_;
  std::vector<double> log_m_x_;
  std::vector<double> log_x_;  // per distinct x
};

// The outcome of a minimization.
struct Minimum {
  std::vector<double> point;
  double value = kInfinity;
  bool converged = false;
  // Stopped because the best value stayed the same for kStallEvaluations.
  bool stalled = false;
};

// Minimizes `f` with the Nelder-Mead simplex method (reflection 1,
// expansion 2, contraction 1/2, shrink 1/2), starting from a simplex of
// `start` and `start + step * e_i`. Converged when the vertices' values
// differ by at most tolerance * max(1, |best|) and their coordinates by
// at most sqrt(tolerance) from the best vertex. Deterministic: ties in
// ordering are broken by vertex index. Counts evaluations in *evaluations
// and stops, not converged, when it reaches max_evaluations, or when the
// best value has not improved for kStallEvaluations (stalled).
Minimum NelderMead(const std::function<double(const std::vector<double>&)>& f,
                   const std::vector<double>& start, double step,
                   double tolerance, int max_evaluations, int* evaluations) {
  const size_t n = start.size();
  const double x_tolerance = std::sqrt(tolerance);
  std::vector<std::vector<double>> vertex(n + 1, start);
  std::vector<double> value(n + 1);
  for (size_t i = 0; i < n; ++i) vertex[i + 1][i] += step;
  for (size_t i = 0; i <= n; ++i) {
    value[i] = f(vertex[i]);
    ++*evaluations;
  }
  std::vector<size_t> order(n + 1);
  auto evaluate = [&](const std::vector<double>& x) {
    ++*evaluations;
    return f(x);
  };
  // centroid + coefficient * (centroid - worst)
  auto along = [&](const std::vector<double>& centroid,
                   const std::vector<double>& worst, double coefficient) {
    std::vector<double> x(n);
    for (size_t j = 0; j < n; ++j) {
      x[j] = centroid[j] + coefficient * (centroid[j] - worst[j]);
    }
    return x;
  };

  double best_seen = kInfinity;
  int improved_at = *evaluations;
  while (true) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t i, size_t j) { return value[i] < value[j]; });
    const size_t best = order.front();
    const size_t worst = order.back();
    const size_t second_worst = order[n - 1];

    double spread = 0;
    for (size_t i = 0; i <= n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        spread = std::max(spread, std::abs(vertex[i][j] - vertex[best][j]));
      }
    }
    if (std::isfinite(value[best]) &&
        value[worst] - value[best] <=
            tolerance * std::max(1.0, std::abs(value[best])) &&
        spread <= x_tolerance) {
      return {vertex[best], value[best], true};
    }
    if (*evaluations >= max_evaluations) {
      return {vertex[best], value[best], false};
    }
    if (value[best] < best_seen) {
      best_seen = value[best];
      improved_at = *evaluations;
    } else if (*evaluations - improved_at >= kStallEvaluations) {
      return {vertex[best], value[best], false, true};
    }

    std::vector<double> centroid(n, 0.0);
    for (size_t i = 0; i <= n; ++i) {
      if (i == worst) continue;
      for (size_t j = 0; j < n; ++j) centroid[j] += vertex[i][j];
    }
    for (double& c : centroid) c /= static_cast<double>(n);

    const std::vector<double> reflected = along(centroid, vertex[worst], 1.0);
    const double f_reflected = evaluate(reflected);
    if (f_reflected < value[best]) {
      std::vector<double> expanded = along(centroid, vertex[worst], 2.0);
      const double f_expanded = evaluate(expanded);
      if (f_expanded < f_reflected) {
        vertex[worst] = std::move(expanded);
        value[worst] = f_expanded;
      } else {
        vertex[worst] = reflected;
        value[worst] = f_reflected;
      }
      continue;
    }
    if (f_reflected < value[second_worst]) {
      vertex[worst] = reflected;
      value[worst] = f_reflected;
      continue;
    }
    // Contract: outside when the reflection beat the worst vertex, inside
    // otherwise.
    const bool outside = f_reflected < value[worst];
    std::vector<double> contracted =
        along(centroid, vertex[worst], outside ? 0.5 : -0.5);
    const double f_contracted = evaluate(contracted);
    if (f_contracted < (outside ? f_reflected : value[worst])) {
      vertex[worst] = std::move(contracted);
      value[worst] = f_contracted;
      continue;
    }
    // Shrink towards the best vertex.
    for (size_t i = 0; i <= n; ++i) {
      if (i == best) continue;
      for (size_t j = 0; j < n; ++j) {
        vertex[i][j] = vertex[best][j] + 0.5 * (vertex[i][j] - vertex[best][j]);
      }
      value[i] = evaluate(vertex[i]);
    }
  }
}

// Maximizes `log_likelihood` over positive parameters, searching their
// logarithms from `start`: Nelder-Mead, then restarts from its optimum
// until a restart improves the log-likelihood by no more than the
// tolerance. `names` name the parameters in errors.
absl::StatusOr<std::vector<double>> MaximizeLikelihood(
    const std::function<double(const std::vector<double>&)>& log_likelihood,
    const std::vector<double>& start, const std::vector<std::string>& names,
    const std::string& model, const FitOptions& options) {
  auto objective = [&](const std::vector<double>& theta) {
    std::vector<double> params(theta.size());
    for (size_t i = 0; i < theta.size(); ++i) {
      if (std::abs(theta[i]) > kMaxLogParameter) return kInfinity;
      params[i] = std::exp(theta[i]);
    }
    const double ll = log_likelihood(params);
    return std::isnan(ll) ? kInfinity : -ll;
  };
  std::vector<double> theta(start.size());
  for (size_t i = 0; i < start.size(); ++i) theta[i] = std::log(start[i]);

  int evaluations = 0;
  Minimum best = NelderMead(objective, theta, kFirstStep, options.tolerance,
                            options.max_evaluations, &evaluations);
  // Nelder-Mead can stall on a ridge; a fresh simplex at its optimum
  // either confirms it or moves on.
  bool settled = false;
  for (int restart = 0; best.converged && restart < kMaxRestarts; ++restart) {
    Minimum next =
        NelderMead(objective, best.point, kRestartStep, options.tolerance,
                   options.max_evaluations, &evaluations);
    const double gain = best.value - next.value;
    const bool next_converged = next.converged;
    const bool next_stalled = next.stalled;
    if (next.value < best.value) best = std::move(next);
    if (!next_converged) {
      best.converged = false;
      best.stalled = next_stalled;
      break;
    }
    if (gain <= options.tolerance * std::max(1.0, std::abs(best.value))) {
      settled = true;
      break;
    }
  }
  if (!std::isfinite(best.value)) {
    return absl::FailedPreconditionError(
        absl::StrCat(model,
                     " fit: the log-likelihood is not finite anywhere the "
                     "optimizer looked; check the population's summaries"));
  }
  std::string params_text;
  for (size_t i = 0; i < best.point.size(); ++i) {
    absl::StrAppend(&params_text, i == 0 ? "" : ", ", names[i], "=",
                    std::exp(best.point[i]));
  }
  for (size_t i = 0; i < best.point.size(); ++i) {
    if (std::abs(best.point[i]) > kDivergedLogParameter) {
      return absl::FailedPreconditionError(absl::StrCat(
          model, " fit: the likelihood has no interior maximum: parameter ",
          names[i], " runs off to ", best.point[i] > 0 ? "infinity" : "zero",
          " (", params_text, "); the population does not identify the model"));
    }
  }
  if (best.stalled) {
    return absl::FailedPreconditionError(absl::StrCat(
        model,
        " fit: the likelihood has no single maximum: no better point "
        "in ",
        kStallEvaluations,
        " evaluations, on a ridge where it stays "
        "the same (at ",
        params_text, ", log-likelihood ", -best.value,
        "); the population does not identify the model"));
  }
  if (!settled) {
    return absl::FailedPreconditionError(
        absl::StrCat(model, " fit did not converge within ",
                     options.max_evaluations, " likelihood evaluations (at ",
                     params_text, ", log-likelihood ", -best.value, ")"));
  }
  std::vector<double> params(best.point.size());
  for (size_t i = 0; i < params.size(); ++i) {
    params[i] = std::exp(best.point[i]);
  }
  return params;
}

// m_x may be negative (returns, sales below cost): BG/NBD does not use it,
// and Gamma-Gamma leaves out customers whose mean value is not positive.
absl::Status CheckSummary(const CalibrationSummary& c, size_t index) {
  const bool ok = std::isfinite(c.x) && std::isfinite(c.t_x) &&
                  std::isfinite(c.t_cal) && std::isfinite(c.m_x) && c.x >= 0 &&
                  c.x == std::floor(c.x) && c.t_x >= 0 && c.t_x <= c.t_cal &&
                  (c.x > 0 || c.t_x == 0);
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "customer ", index, " of the population has an impossible summary: x=",
      c.x, " t_x=", c.t_x, " t_cal=", c.t_cal, " m_x=", c.m_x,
      " (need a whole x >= 0, 0 <= t_x <= t_cal, t_x = 0 when x = 0)"));
}

}  // namespace

double BgNbdLogLikelihood(const store::v1::BgNbdParameters& params,
                          absl::Span<const CalibrationSummary> population) {
  return BgNbdData(population)
      .LogLikelihood(params.r(), params.alpha(), params.a(), params.b());
}

double GammaGammaLogLikelihood(
    const store::v1::GammaGammaParameters& params,
    absl::Span<const CalibrationSummary> population) {
  return GammaGammaData(population)
      .LogLikelihood(params.p(), params.q(), params.gamma());
}

absl::StatusOr<store::v1::BgNbdParameters> FitBgNbd(
    absl::Span<const CalibrationSummary> population,
    const FitOptions& options) {
  if (population.empty()) {
    return absl::InvalidArgumentError(
        "BG/NBD fit: the population is empty (no customer purchased in the "
        "calibration period)");
  }
  for (size_t i = 0; i < population.size(); ++i) {
    if (absl::Status s = CheckSummary(population[i], i); !s.ok()) return s;
  }
  const BgNbdData data(population);
  auto log_likelihood = [&data](const std::vector<double>& p) {
    return data.LogLikelihood(p[0], p[1], p[2], p[3]);
  };
  // BTYD's start: every parameter 1.
  absl::StatusOr<std::vector<double>> fitted =
      MaximizeLikelihood(log_likelihood, {1, 1, 1, 1}, {"r", "alpha", "a", "b"},
                         "BG/NBD", options);
  if (!fitted.ok()) return fitted.status();
  const std::vector<double>& p = *fitted;
  store::v1::BgNbdParameters result;
  result.set_r(p[0]);
  result.set_alpha(p[1]);
  result.set_a(p[2]);
  result.set_b(p[3]);
  result.set_log_likelihood(data.LogLikelihood(p[0], p[1], p[2], p[3]));
  return result;
}

absl::StatusOr<store::v1::GammaGammaParameters> FitGammaGamma(
    absl::Span<const CalibrationSummary> population,
    const FitOptions& options) {
  for (size_t i = 0; i < population.size(); ++i) {
    if (absl::Status s = CheckSummary(population[i], i); !s.ok()) return s;
  }
  const GammaGammaData data(population);
  if (data.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Gamma-Gamma fit: none of the ", population.size(),
        " customers has a repeat purchase with a positive value in the "
        "calibration period"));
  }
  auto log_likelihood = [&data](const std::vector<double>& p) {
    return data.LogLikelihood(p[0], p[1], p[2]);
  };
  // Start where the population mean spend p gamma / (q - 1) is right:
  // p = 1, q = 2, gamma = the mean of m_x. Scale-free, so the unit of
  // money (cents or yen) does not matter.
  absl::StatusOr<std::vector<double>> fitted =
      MaximizeLikelihood(log_likelihood, {1, 2, data.MeanSpend()},
                         {"p", "q", "gamma"}, "Gamma-Gamma", options);
  if (!fitted.ok()) return fitted.status();
  const std::vector<double>& p = *fitted;
  store::v1::GammaGammaParameters result;
  result.set_p(p[0]);
  result.set_q(p[1]);
  result.set_gamma(p[2]);
  result.set_log_likelihood(data.LogLikelihood(p[0], p[1], p[2]));
  return result;
}

}  // namespace kehu::projections
