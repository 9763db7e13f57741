// PopulationSnapshots: the store as it was at each boundary of business
// time (each month by default; see SnapshotPeriod), with the population
// measured then — what a view as of a past date places the customer in
// (query/population_history.h).
//
// Operation: when the events on the log reach a new period (the latest
// occurred_at of the last records of the partitions the store folds
// passes the first instant of a period), `kehu serve` waits until the
// active store has folded those partitions up to that point and Take()s a
// snapshot: a RocksDB checkpoint of the store (hard links to its table
// files) in DATA/snapshots/YYYY-MM-DD (the boundary, UTC), on which the
// population step (projections/population.h) then runs at the boundary. The
// checkpoint is thus a complete store — the views, indexes and standings of
// that time, which `kehu digest --data DATA --store snapshots/YYYY-MM-DD` and
// the query service can read — and its population row is the one as-of reads
// use. They read that row alone, so a snapshot taken by a kehu of another store
// layout (store_schema.h, kSchemaVersion) still serves them, though `kehu
// digest` of it refuses, as of any store of another layout. A snapshot is
// written under a temporary name and renamed when complete, so a crash never
// leaves a half-made one under a real name.
//
// The population of a snapshot is measured over what the log held when
// the boundary was reached: events that arrive late for an earlier month
// do not change it. That is the point of an audit ("what did the system
// say then"); a replay with `--until` answers the other question (what
// the log knows today about then).
//
// Concurrency: thread-safe.
//
// Limitations: each snapshot keeps the table files of its time alive, so
// over months the snapshots can take as much disk as the store again and
// more; `kehu serve --snapshot-keep N` keeps the newest N (RemoveOldest),
// else they are deleted by hand (the server reads the directory at start). One
// snapshot per boundary crossed: when the log jumps several months at once (an
// import of history), only the last boundary gets one. On Kafka each member of
// the consumer group snapshots its own store, over the partitions it holds, as
// its population step measures them.
#ifndef KEHU_INFRA_APP_POPULATION_SNAPSHOTS_H_
#define KEHU_INFRA_APP_POPULATION_SNAPSHOTS_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "projections/population.h"
#include "query/population_history.h"

namespace kehu::app {

// How often business time gets a snapshot. The periods are UTC calendar
// periods; weeks begin on Monday (ISO 8601).
enum class SnapshotPeriod { kDay, kWeek, kMonth, kQuarter, kYear };

// "day", "week", "month", "quarter", "year" (the `--snapshot-every` values).
absl::StatusOr<SnapshotPeriod> ParseSnapshotPeriod(std::string_view name);
std::string_view SnapshotPeriodName(SnapshotPeriod period);

// The first instant of the period `t` lies in.
absl::Time PeriodStart(SnapshotPeriod period, absl::Time t);
// The first instant of the period after the one `t` lies in.
absl::Time NextPeriodStart(SnapshotPeriod period, absl::Time t);

// The latest occurred_at among the last records of `partitions` of `log`;
// nullopt when they are empty, or when `stopping` (asked before each
// partition; on Kafka each can take a broker round trip) says to stop.
// Records that do not parse are skipped.
std::optional<absl::Time> LogBusinessTime(
    infra::EventLog& log, const std::vector<int32_t>& partitions,
    const std::function<bool()>& stopping = {});

class PopulationSnapshots final : public query::PopulationHistory {
 public:
  // Reads the snapshots in DATA/snapshots (their population rows) and
  // removes what a crash left half-made.
  static absl::StatusOr<std::unique_ptr<PopulationSnapshots>> Open(
      const std::string& data_dir,
      projections::PopulationOptions population = {});

  // Checkpoints `store` as the snapshot of `boundary` and measures its
  // population at `boundary`. The caller makes sure the store has folded
  // what it should. ALREADY_EXISTS when that boundary has one. `cancelled`
  // (see PopulationOptions::cancelled) cuts the population step short: the
  // half-made snapshot is removed and Take() returns CANCELLED.
  absl::Status Take(infra::ProjectionStore* store, absl::Time boundary,
                    std::function<bool()> cancelled = {});

  // Removes the oldest snapshots until at most `keep` are left (0 keeps
  // all); returns the names removed, oldest first. As-of reads before the
  // oldest snapshot left then fall back to the store's last fit, and say
  // so, as before the first snapshot.
  absl::StatusOr<std::vector<std::string>> RemoveOldest(size_t keep);

  // query::PopulationHistory.
  std::optional<query::PopulationSnapshot> AtOrBefore(
      absl::Time as_of) const override;

  // The latest boundary with a snapshot; nullopt when none.
  std::optional<absl::Time> latest() const;
  // Snapshots held.
  size_t size() const;
  // Blocks until at least `n` snapshots exist, or `deadline`; true then.
  bool WaitForSnapshots(size_t n, absl::Time deadline) const;

  // "2025-04-01": the directory name under DATA/snapshots of a boundary.
  static std::string NameOf(absl::Time boundary);

 private:
  PopulationSnapshots(std::string dir, projections::PopulationOptions options)
      : dir_(std::move(dir)), options_(options) {}

  const std::string dir_;  // DATA/snapshots
  const projections::PopulationOptions options_;
  absl::Mutex take_mu_;  // one Take() at a time
  mutable absl::Mutex mu_;
  // By boundary.
  std::map<absl::Time, query::PopulationSnapshot> snapshots_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_POPULATION_SNAPSHOTS_H_
