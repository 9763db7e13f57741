// SegmentIndex: the projection that listings and summaries read — where
// each customer stands (tier, lifecycle stage, value-matrix cell, RFM
// scores, churn risk, satisfaction, values), ordered five ways, plus
// counters per segment, per month of lifecycle transitions and per month of
// satisfaction figures. Layout in infra/store_schema.h (`segments` family).
//
// Operation: a customer's standing is their view (query/customer_analytics.h,
// the same code GetCustomer runs) evaluated at the standing time — the later
// of the customer's last event and the reference time of the stored
// population — so it is a function of the log and the population alone.
// The projector updates the standing of every customer it folds in the
// same WriteBatch as their state (Update) — a replay writes each
// customer's once, with their state (Evaluate, Write), to the same digest
// (store_digest.h); after each population step
// (`kehu fit`) RefreshAll re-evaluates every customer at the new reference
// time. Each update reads the customer's previous standing row and writes
// the difference: order keys move, and counters get merges that take back
// the old contribution and add the new one, so a segment's counters are
// always the sum over the customers that stand in it.
//
// Concurrency: Update() must run under store->segment_mutex() held shared
// (projectors of different partitions update different customers);
// RefreshAll() takes it exclusively, a chunk of customers at a time, so
// folding goes on between chunks (of a replay's store, Existing::kNone,
// only to write each chunk). A replay holds it exclusively while it
// folds.
//
// Limitations: standings age between events and fits — a customer who
// stays silent slides towards churned in GetCustomer at once, in the index
// at the next fit (by default daily).
#ifndef KEHU_PROJECTIONS_SEGMENT_INDEX_H_
#define KEHU_PROJECTIONS_SEGMENT_INDEX_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "infra/projection_store.h"
#include "kehu/store/v1/store.pb.h"
#include "query/customer_analytics.h"
#include "rocksdb/write_batch.h"

namespace kehu::projections {

class SegmentIndex {
 public:
  // REQUIRES: `store` outlives the index. `config` must be the one the
  // query service evaluates views with.
  explicit SegmentIndex(infra::ProjectionStore* store,
                        query::AnalyticsConfig config = {});

  // Where `state` stands against `population`, at the standing time.
  store::v1::Standing Evaluate(
      const store::v1::CustomerState& state,
      const store::v1::PopulationModel& population) const;

  // Counter changes summed over many customers, so that a batch carries
  // one merge per counter row rather than one per customer: key -> delta.
  using CounterDeltas = absl::flat_hash_map<std::string, std::vector<int64_t>>;

  // Adds to `batch` what moves the index from `old` (nullptr: the customer
  // was not indexed) to `now`: the standing and order rows, and the counter
  // changes — into `deltas` when given (then WriteCounters() must follow),
  // else as merges straight into `batch`.
  void Write(const store::v1::Standing* old, const store::v1::Standing& now,
             rocksdb::WriteBatch* batch, CounterDeltas* deltas = nullptr) const;

  // One merge per non-zero delta.
  void WriteCounters(const CounterDeltas& deltas,
                     rocksdb::WriteBatch* batch) const;

  // The customer's standing row; nullopt when not indexed.
  absl::StatusOr<std::optional<store::v1::Standing>> Get(
      std::string_view customer_id) const;

  // Evaluate, read the previous row, Write. REQUIRES: the caller holds
  // store->segment_mutex() (shared is enough) until `batch` is written.
  absl::Status Update(const store::v1::CustomerState& state,
                      const store::v1::PopulationModel& population,
                      rocksdb::WriteBatch* batch,
                      CounterDeltas* deltas = nullptr) const;

  // What RefreshAll() may assume of the standings before it.
  enum class Existing {
    // Some customers may have one, and writers may add some meanwhile:
    // each customer's is read and replaced (Update).
    kRead,
    // No customer has one and nothing else writes the store meanwhile (a
    // replay's store): each is written without reading, which a bulk load
    // (ProjectionStoreOptions::bulk_load) needs.
    kNone,
  };

  // Re-evaluates every customer against the stored population; returns how
  // many were evaluated. `cancelled`, when set, is polled between chunks:
  // true stops with CANCELLED, the chunks before re-evaluated and the rest
  // not. Chunks hold `chunk` customers. With Existing::kNone, `threads`
  // threads evaluate chunks side by side (ForEachCustomerChunk), each
  // writing its own; the rows written depend on neither. With kRead
  // `threads` is ignored: each chunk is read, evaluated and written under
  // the segment mutex, on one thread.
  absl::StatusOr<int64_t> RefreshAll(
      const std::function<bool()>& cancelled = {},
      Existing existing = Existing::kRead, int threads = 1,
      int chunk = 2000) const;

 private:
  // RefreshAll() with Existing::kNone: every customer's standing written,
  // none read.
  absl::StatusOr<int64_t> WriteEveryStanding(const std::function<bool()>& cancelled,
                                        int threads, int chunk) const;

  infra::ProjectionStore* const store_;  // not owned
  const query::AnalyticsConfig config_;
};

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_SEGMENT_INDEX_H_
