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
// Backfill: the boundaries the schedule never saw — history loaded while
// no server ran (`kehu produce --data`), or several periods crossed at once
// (the schedule snapshots the last only and records the others as passed
// over) — get their snapshot from a replay instead (Backfill(), `kehu
// snapshots backfill`, `kehu admin backfill-snapshots`): the events that
// occurred before the boundary, as the log holds them now, folded into a
// scratch store whose population is measured at the boundary. Such a
// snapshot says what the log knows today about that time, late events
// included, where a snapshot the schedule took says what the system knew
// then; the audit trail tells them apart (`snapshot` / `snapshot-backfill`),
// and so do the log positions the population names (the log's end when
// the backfill ran). It keeps the population row alone — all as-of reads
// use — not the scratch store, which at a million customers takes about
// as much disk as the live store; `kehu replay --until` cut at the same
// instant builds such a store again (with whatever arrived late for that
// time since).
//
// Limitations: each scheduled snapshot keeps the table files of its time
// alive, so over months the snapshots can take as much disk as the store
// again and more; `kehu serve --snapshot-keep N` keeps the newest N
// (RemoveOldest), else they are deleted by hand (the server reads the
// directory at start). On Kafka each member of the consumer group
// snapshots its own store, over the partitions it holds, as its
// population step measures them (with the rows of partitions that moved
// away, as they were), and its backfills replay the partitions it holds
// only (ReplayOptions::partitions).
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
#include "kehu/admin/v1/admin.pb.h"
#include "projections/population.h"
#include "projections/replay.h"
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
// The earliest occurred_at among the first records of `partitions`, as
// LogBusinessTime(): how far back the log's history goes at least (a later
// record may have occurred earlier still; ReadBusinessTimeSpan() reads
// them all).
std::optional<absl::Time> LogFirstBusinessTime(
    infra::EventLog& log, const std::vector<int32_t>& partitions,
    const std::function<bool()>& stopping = {});

// The earliest and the latest occurred_at among all records of `log` (of
// `partitions` of it, when given), read from start to end: the business
// time a backfill covers.
struct BusinessTimeSpan {
  absl::Time first;
  absl::Time last;
};
// nullopt when no record parses.
absl::StatusOr<std::optional<BusinessTimeSpan>> ReadBusinessTimeSpan(
    infra::EventLog& log,
    const std::optional<std::vector<int32_t>>& partitions = std::nullopt);

// ReadBusinessTimeSpan() of one log, asked again and again (a backfill
// call per boundary): each partition is read once, and a later Read()
// reads only what was appended to it since. Not thread-safe.
class BusinessTimeSpans {
 public:
  absl::StatusOr<std::optional<BusinessTimeSpan>> Read(
      infra::EventLog& log,
      const std::optional<std::vector<int32_t>>& partitions = std::nullopt);

 private:
  struct Partition {
    int64_t end = 0;  // records [0, end) are taken in
    std::optional<BusinessTimeSpan> span;
  };
  std::map<int32_t, Partition> partitions_;
};

// The period boundaries after `first` up to and including the start of
// the period `last` lies in, oldest first: the boundaries business time
// crossed from `first` to `last`.
std::vector<absl::Time> BoundariesBetween(SnapshotPeriod period,
                                          absl::Time first, absl::Time last);

// What `snapshots` measured, for ListSnapshots and `kehu snapshots list`.
admin::v1::ListSnapshotsResponse DescribeSnapshots(
    const std::vector<query::PopulationSnapshot>& snapshots);

// Backfills refuse more boundaries than this at once (an event dated in
// 1970 by mistake would otherwise ask for decades of replays): a range
// (from, to) narrows them.
inline constexpr size_t kMaxBackfillBoundaries = 1000;

// The audit entry ("snapshot-backfill") of a Backfill() of `boundary` by
// `caller` that gave `result` in `took`.
admin::v1::AuditEntry BackfillAuditEntry(
    absl::Time boundary, SnapshotPeriod period, const std::string& caller,
    const absl::StatusOr<projections::ReplayResult>& result,
    absl::Duration took);

class PopulationSnapshots final : public query::PopulationHistory {
 public:
  // The snapshots in DATA/snapshots with their population rows, oldest
  // first, read without changing anything (beside a running server too).
  static absl::StatusOr<std::vector<query::PopulationSnapshot>> List(
      const std::string& data_dir);

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

  // Builds the snapshot of `boundary` by a replay of `log` (see Backfill
  // above): the events that occurred before the boundary, into a scratch
  // store in `reporting_currency` whose population, measured at the
  // boundary, the snapshot keeps. `replay` gives threads, batches, progress and
  // cancellation; its cuts and fit are set here. ALREADY_EXISTS when that
  // boundary has a snapshot; a replay that fails or is cancelled leaves
  // nothing.
  absl::StatusOr<projections::ReplayResult> Backfill(
      infra::EventLog* log, absl::Time boundary,
      const std::string& reporting_currency, projections::ReplayOptions replay);

  // Removes the oldest snapshots until at most `keep` are left (0 keeps
  // all); returns the names removed, oldest first. As-of reads before the
  // oldest snapshot left then fall back to the store's last fit, and say
  // so, as before the first snapshot.
  absl::StatusOr<std::vector<std::string>> RemoveOldest(size_t keep);

  // The boundaries of `period` business time crossed from span.first to
  // span.last (BoundariesBetween), within [from, to] where given, that
  // have no snapshot, oldest first; `held` (may be null) gets how many of
  // them have one.
  std::vector<absl::Time> Missing(SnapshotPeriod period, BusinessTimeSpan span,
                                  std::optional<absl::Time> from,
                                  std::optional<absl::Time> to,
                                  int* held = nullptr) const;

  // query::PopulationHistory.
  std::optional<query::PopulationSnapshot> AtOrBefore(
      absl::Time as_of) const override;

  // Every snapshot held, oldest first.
  std::vector<query::PopulationSnapshot> All() const;
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

  // Makes the snapshot of `boundary`: `build` writes a complete store into
  // the temporary directory it is given, which is then renamed to the
  // boundary's name and its population read; on failure it is removed.
  absl::Status Make(
      absl::Time boundary,
      const std::function<absl::Status(const std::string& dir)>& build);

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
