// The population step: measures every customer at one reference time and
// keeps what placing a single customer among them needs — RFM quintile cut
// points, the Pareto and pyramid cutoffs, the mean margin per category of
// each tier, and the fitted lifetime-value models — as one
// store.v1.PopulationModel row in `meta`. `kehu fit` runs it; queries read
// the row (docs/metrics.md says what each figure means).
//
// Operation: one pass over the `customers` family at a RocksDB snapshot, so
// the row is consistent with the log positions it records. The result
// depends only on the store's contents and as_of.
//
// Limitations: O(customers) time and memory for the values being ranked;
// meant to run on a schedule, not per query.
#ifndef KEHU_PROJECTIONS_POPULATION_H_
#define KEHU_PROJECTIONS_POPULATION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "infra/projection_store.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::projections {

struct PopulationOptions {
  // The trailing window of frequency, monetary value and tiers.
  absl::Duration window = absl::Hours(24 * 365);
  // Time unit of the lifetime-value models, in days (7: weeks, as in the
  // literature).
  double time_unit_days = 7;
  // Pareto: key customers bring this share of the trailing margin.
  double pareto_share = 0.80;
  // Pyramid: the top share of active customers by trailing margin is key,
  // the next share potential.
  double pyramid_key_share = 0.05;
  double pyramid_potential_share = 0.15;
  // Polled every few thousand customers; when it returns true the step
  // stops with CANCELLED. A step cut short while re-evaluating standings
  // leaves them partly re-evaluated, so only a store that is discarded
  // then may be given one (a population snapshot's checkpoint, when the
  // server stops). Unset: never cancelled.
  std::function<bool()> cancelled;
  // Set when no customer has a standing yet and nothing else writes the
  // store during the step (a replay's store, folded with fit_as_of): the
  // standings are then written without reading the old ones
  // (SegmentIndex::Existing::kNone).
  bool index_empty = false;
  // Threads that evaluate customers' standings: the value-matrix pass, and
  // the re-evaluation of the standings when index_empty (with writers
  // about, standings are re-evaluated one chunk at a time under the
  // segment mutex, on one thread). The result does not depend on it.
  int threads = 1;
  // Customers per chunk of the passes options.threads share.
  int chunk_customers = 2000;
};

// Measures the population of `store` at `as_of`.
absl::StatusOr<store::v1::PopulationModel> MeasurePopulation(
    const infra::ProjectionStore& store, absl::Time as_of,
    const PopulationOptions& options = {});

// What the population step did.
struct PopulationStepResult {
  store::v1::PopulationModel population;
  // Customers whose standing was re-evaluated.
  int64_t indexed_customers = 0;
};

// The population step as `kehu fit` runs it: MeasurePopulation() at
// `as_of`, stores the result as the `population` row, then re-evaluates
// every customer's standing against it (SegmentIndex::RefreshAll). Since
// every standing is re-evaluated, the segment index afterwards depends on
// this step's population only, not on earlier ones.
// REQUIRES: `store` is not read-only.
absl::StatusOr<PopulationStepResult> RunPopulationStep(
    infra::ProjectionStore* store, absl::Time as_of,
    const PopulationOptions& options = {});

// The four quintile cut points of `values` (any order): the values at the
// 20th, 40th, 60th and 80th percentile by nearest rank. Empty for no values.
store::v1::QuintileCuts QuintileCutsOf(std::vector<double> values);

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_POPULATION_H_
