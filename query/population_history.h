// PopulationHistory: the populations measured at past business-time
// boundaries (population snapshots, infra/app/population_snapshots.h), so
// that a view as of a past time places the customer among the population
// as it was then — the tier cutoffs, RFM quintiles and model parameters of
// that time — rather than today's.
//
// Concurrency: implementations are thread-safe.
#ifndef KEHU_QUERY_POPULATION_HISTORY_H_
#define KEHU_QUERY_POPULATION_HISTORY_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::query {

struct PopulationSnapshot {
  // Names the snapshot ("2025-04-01").
  std::string name;
  std::shared_ptr<const store::v1::PopulationModel> population;
};

class PopulationHistory {
 public:
  virtual ~PopulationHistory() = default;
  // The latest snapshot whose population was measured at or before
  // `as_of`; nullopt when there is none.
  virtual std::optional<PopulationSnapshot> AtOrBefore(
      absl::Time as_of) const = 0;
};

}  // namespace kehu::query

#endif  // KEHU_QUERY_POPULATION_HISTORY_H_
