// Fitting the lifetime-value models to a population of customers: BG/NBD
// (how often customers buy and when they drop out) and Gamma-Gamma (what
// their transactions are worth), by maximum likelihood. The fitted
// parameters are stored as kehu.store.v1.ModelParameters; the predictions
// that use them are evaluated at query time (infra/lifetime_value.h).
//
// Operation
//   1. infra::MarginPurchases() lists a customer's purchases and
//      infra::Summarize() turns them into the model's view of the customer
//      at the end of a calibration period: (x, t_x, t_cal, m_x).
//   2. FitBgNbd() and FitGammaGamma() maximize the log-likelihood of the
//      population: Nelder-Mead over the logarithms of the parameters (so
//      they stay positive), restarted from its own optimum until a restart
//      no longer improves it. Everything is deterministic: the same
//      population gives bit-identical parameters on every run.
//
//   References: Fader, Hardie & Lee (2005), "Counting your customers the
//   easy way: an alternative to the Pareto/NBD model", Marketing Science
//   24(2), eq. 6; Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value
//   curves for customer base analysis", Journal of Marketing Research
//   42(4), and Fader & Hardie (2013), "The Gamma-Gamma model of monetary
//   value" (the BTYD R package's bgnbd.LL and spend.LL).
//
// Concurrency
//   Pure functions; safe from any thread.
//
// Limitations
//   A fit costs one likelihood evaluation per optimizer step over the whole
//   population (a few thousand steps): fine for millions of customers as a
//   scheduled job, not for the fold loop. Values are taken as they come: a
//   population must be in one currency (and one unit: kehu passes minor
//   units, so Gamma-Gamma's gamma is in minor units too).
#ifndef KEHU_PROJECTIONS_LIFETIME_VALUE_FIT_H_
#define KEHU_PROJECTIONS_LIFETIME_VALUE_FIT_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "infra/lifetime_value.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::projections {

using infra::CalibrationSummary;

// Returns the BG/NBD log-likelihood of `population` (FHL 2005, eq. 6),
// summed in population order. Only r, alpha, a and b of `params` are read.
// Parameters that are not all positive give -infinity.
double BgNbdLogLikelihood(const store::v1::BgNbdParameters& params,
                          absl::Span<const CalibrationSummary> population);

// Returns the Gamma-Gamma log-likelihood of the customers of `population`
// the model covers: those with x > 0 and m_x > 0 (a customer whose repeat
// purchases were all free has a mean the model's density gives no mass
// to). Parameters that are not all positive give -infinity.
double GammaGammaLogLikelihood(const store::v1::GammaGammaParameters& params,
                               absl::Span<const CalibrationSummary> population);

// How hard the optimizer tries. The defaults reproduce the published CDNOW
// fits to their printed precision.
struct FitOptions {
  // Convergence: the simplex's log-likelihoods differ by at most this,
  // relative to the log-likelihood, and its vertices by at most
  // sqrt(tolerance) in log-parameter space; and a restart from the optimum
  // improves the log-likelihood by at most this, relatively.
  double tolerance = 1e-12;
  // Likelihood evaluations allowed, over all restarts.
  int max_evaluations = 200000;
};

// Fits BG/NBD to `population` by maximum likelihood; the result carries
// the log-likelihood at the optimum. Errors:
//   InvalidArgument: the population is empty, or a summary is impossible
//     (x not a whole number >= 0, t_x outside [0, t_cal], t_x != 0 when
//     x == 0, m_x < 0);
//   FailedPrecondition: the likelihood has no interior maximum (e.g. no
//     customer ever bought again, so the drop-out parameters run off to
//     infinity), or the optimizer did not converge within
//     options.max_evaluations.
absl::StatusOr<store::v1::BgNbdParameters> FitBgNbd(
    absl::Span<const CalibrationSummary> population,
    const FitOptions& options = {});

// Fits Gamma-Gamma by maximum likelihood to the customers of `population`
// with x > 0 and m_x > 0 (see GammaGammaLogLikelihood()). Errors:
//   InvalidArgument: no such customer, or an impossible summary (as for
//     FitBgNbd());
//   FailedPrecondition: no interior maximum (e.g. every repeat customer has
//     the same mean, so the spread parameters run off to infinity), or no
//     convergence within options.max_evaluations.
absl::StatusOr<store::v1::GammaGammaParameters> FitGammaGamma(
    absl::Span<const CalibrationSummary> population,
    const FitOptions& options = {});

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_LIFETIME_VALUE_FIT_H_
