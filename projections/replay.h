// Replay: rebuilds every projection from the event log into a fresh
// projection store — the audit path (`kehu replay`), and the way to a new
// store when the schema or the reporting currency changes.
//
// Operation, in three stages, so that every customer's state is built in
// memory once and written once, however many customers there are, and the
// big families never pass through RocksDB's memtables, flushes and
// compactions:
// 0. The customers are split into key ranges (timeline key order) from
//    records sampled at places spread over each partition, as many ranges
//    as make about 32 MiB of staged events each, and at least four per
//    thread.
// 1. By partition: each partition is read from offset 0 up to its stop
//    offset in batches of `batch_records` records. Every record that may
//    be folded (MayFold, record_admission.h: its key is short enough for a
//    customer id and is this partition's) is staged, undecoded, with its
//    timeline key (keyed by customer and offset) in its range's file
//    (replay_files.h: a scratch directory `replay-staged` in the store's
//    directory, removed once read). The others are judged right away, as
//    the live projector judges them, and dead-lettered or counted.
// 2. By range, in parallel: a range's records are read back and sorted by
//    key, that is customer by customer, each customer's in log order. Each
//    record is decoded once and judged as the live projector judges it
//    (AdmitRecord): dead letters are written, payloads this version does
//    not know and events after the cut are counted. Per customer: an
//    event whose event_id the customer already had is a duplicate and is
//    dropped; the others are folded (FoldEvent, customer_fold.h, as live)
//    and get their timeline and dedup rows; then, once an event of theirs
//    was folded, the customer's state and index rows (customer_rows.h)
//    and, without `fit_as_of`, their standing in the segment index
//    (segment_index.h).
//    Timeline, dedup and state rows go to table files of the range, in key
//    order, ingested into the store's bottom level when the range is done
//    (state rows are sorted by id first; when ids differ in length, the
//    ranges' files of state rows overlap and RocksDB stacks them). The
//    rows kept in value order — index rows, and the standings under their
//    orders — are staged again, by metric and order (a second scratch
//    directory); only the segment counters' merges and the dead letters
//    are written as batches.
// 3. By metric and order, in parallel: each one's rows are sorted and
//    written to a table file, which is ingested. Last, each partition's
//    progress row, and a flush.
// With `fit_as_of`, the population step (`kehu fit`, RunPopulationStep)
// then runs and builds the segment index at that reference time. Batches,
// threads and ranges do not show in the result: the store ends with the
// same rows in every family as a live store that folded the same prefix
// of the log (store_digest.h compares them). A partition's stop offset is
// its end offset when Replay() starts, or `until_offset` when that is
// smaller: records appended meanwhile are not read.
//
// Incomplete stores: until it is done, the store holds the meta row
// kMetaReplayInProgress (store_schema.h), written first and deleted last;
// ProjectionStore refuses to open a store that has it, so a replay that
// failed, was stopped or crashed is never taken for a complete store
// (remove its directory and replay again).
//
// The cut by business time (`until`): the log is in append order, not in
// occurred_at order — an event may be appended long after it occurred (an
// ERP sending at night, a backfill, an import of old data), and events of
// different customers interleave freely. The cut therefore filters, it
// does not truncate: every record up to the stop offsets is read, and an
// event is folded exactly when its occurred_at <= `until` (inclusive),
// wherever it sits in the log; a later one is counted in its partition's
// progress (after_cut) and otherwise left out. The store then holds what
// the log knows today about business time up to `until` — which is not
// necessarily a state the live store was ever in, since at that moment it
// had not yet seen the events appended late. Records that do not parse
// have no business time and are dead-lettered as always. With both
// `until_offset` and `until`, both cuts apply.
//
// Population: the standings of the segment index and the `population` row
// depend on `kehu fit`. The step re-evaluates every customer (SegmentIndex::
// RefreshAll), so a live store with several fits in its history has the
// standings its last fit gives; a replay with `fit_as_of` reproduces a
// store on which a fit at that reference time ran once, after the same
// prefix of the log was folded. A live store fitted earlier and then
// folded further holds a population measured on a smaller prefix, which a
// replay does not reproduce.
//
// Concurrency: each stage runs on up to `threads` threads (partitions
// hold disjoint customers, ranges too, and the segment counters they share
// are updated by commutative merges); `on_progress` is called on the
// calling thread. Nothing else may write the store meanwhile.
//
// Limitations: the stop offsets are fixed at the start; the log may grow
// meanwhile (the Kafka backend), the embedded log opened by ReplayEmbedded
// Log() cannot (it holds the log's lock).
#ifndef KEHU_PROJECTIONS_REPLAY_H_
#define KEHU_PROJECTIONS_REPLAY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "projections/population.h"

namespace kehu::projections {

// Where a replay stands, for a progress display.
struct ReplayProgress {
  // Records done: each counts one half when stage 1 has read it and the
  // other when stage 2 has folded it (or both at once when it is not to be
  // folded: dead-lettered, unknown or after the cut), rounded down.
  int64_t records_done = 0;
  // Sum over the partitions of their stop offsets.
  int64_t records_total = 0;
  absl::Duration elapsed;
  // What runs now: "reading the log" (stage 1), "folding by customer"
  // (stage 2), "writing the ordered indexes" (stage 3, with every record
  // done), "measuring the population" (reported once, as the population
  // step of `fit_as_of` begins).
  std::string_view stage;
};

struct ReplayOptions {
  // Fold offsets below this in every partition; nullopt: up to the
  // partition's end offset when Replay() starts. Must be >= 0.
  std::optional<int64_t> until_offset;
  // Leave out events that occurred after this time (see above); nullopt:
  // no cut by business time.
  std::optional<absl::Time> until;
  // Replay only these partitions (a Kafka member's, for its snapshots);
  // the others are left out as if they were empty (stop offset 0).
  // nullopt: all. Each must be in [0, partition count).
  std::optional<std::vector<int32_t>> partitions;
  // Run the population step at this reference time after folding;
  // nullopt: none (the store then has no `population` row).
  std::optional<absl::Time> fit_as_of;
  PopulationOptions population;

  // Records read per batch in stage 1, events folded per batch of index
  // rows and standings staged in stage 2 (rounded up to a whole customer).
  // Must be > 0.
  size_t batch_records = 10000;
  // Threads of each stage. Must be > 0.
  int threads = 2;
  // Threads of stage 1 when not 0: partitions read at once. On Kafka a
  // partition's read mostly waits for fetches, so more readers than
  // cores pay. Must be >= 0.
  int read_threads = 0;

  // Called on the calling thread every `progress_interval` while folding,
  // and once when folding is done; may be empty.
  std::function<void(const ReplayProgress&)> on_progress;
  absl::Duration progress_interval = absl::Seconds(1);
  // Polled on the calling thread every `progress_interval`; true stops the
  // replay after each partition's batch in flight, and Replay() returns
  // CANCELLED (the store stays marked unfinished). May be empty.
  std::function<bool()> cancelled;
};

struct ReplayResult {
  // Per partition: the offset the replay stopped before.
  std::vector<int64_t> stop_offsets;
  // Records read; the sum of the four counts below plus unknown_skipped.
  int64_t records = 0;
  int64_t folded = 0;
  int64_t duplicates = 0;
  int64_t dead_lettered = 0;
  int64_t unknown_skipped = 0;
  int64_t after_cut = 0;
  // Reading and folding, and without options.fit_as_of building the
  // segment index (with it, the population step builds it).
  absl::Duration fold_time;
  // The parts of fold_time: stage one (reading the log), stage two
  // (folding by customer), stage three (the rows kept in value order) and
  // the rest (sampling the ranges, progress rows, the flush).
  absl::Duration read_time;
  absl::Duration customer_time;
  absl::Duration ordered_time;
  // The population step, when options.fit_as_of was given.
  std::optional<PopulationStepResult> fit;
  absl::Duration fit_time;
};

// Folds the records of `log` into `store` as described above, and flushes
// the store. `log` and `store` are not owned.
// REQUIRES: `store` is fresh: nothing was folded into it (no partition
// progress row); otherwise fails with FAILED_PRECONDITION.
absl::StatusOr<ReplayResult> Replay(infra::EventLog* log,
                                    infra::ProjectionStore* store,
                                    const ReplayOptions& options);

// Opens a new store in `store_dir` without a write-ahead log (a crashed
// replay is redone, not recovered) and Replay()s `log` into it; the store
// is flushed and closed before this returns. Fails with
// FAILED_PRECONDITION when `store_dir` exists and is not an empty
// directory (also when it holds a replay that did not finish).
absl::StatusOr<ReplayResult> ReplayIntoNewStore(
    infra::EventLog* log, const std::string& store_dir,
    const infra::ProjectionStoreOptions& store_options,
    const ReplayOptions& options);

// Opens the embedded log in `log_dir` (infra/embedded_log.h) and
// ReplayIntoNewStore()s it. Fails with NOT_FOUND when `log_dir` holds no
// log, FAILED_PRECONDITION when another process holds the log (a running
// `kehu serve`: the log must not grow during a replay), or as
// ReplayIntoNewStore().
absl::StatusOr<ReplayResult> ReplayEmbeddedLog(
    const std::string& log_dir, const std::string& store_dir,
    const infra::ProjectionStoreOptions& store_options,
    const ReplayOptions& options);

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_REPLAY_H_
