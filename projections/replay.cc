#include "projections/replay.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "infra/embedded_log.h"
#include "infra/murmur2.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "projections/customer_fold.h"
#include "projections/customer_rows.h"
#include "projections/record_admission.h"
#include "projections/segment_index.h"

namespace kehu::projections {
namespace {

using infra::schema::Family;
namespace schema = infra::schema;

// FAILED_PRECONDITION unless no event was ever folded into `store`.
absl::Status CheckFresh(const infra::ProjectionStore& store) {
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
      rocksdb::ReadOptions(), store.family(Family::kOffsets)));
  it->SeekToFirst();
  KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "scanning offsets"));
  if (it->Valid()) {
    return absl::FailedPreconditionError(
        "the store already holds folded events; a replay needs a fresh "
        "store");
  }
  return absl::OkStatus();
}

// The fold by customer splits the customers into about this many ranges
// per thread, so that a thread done early takes another.
constexpr int kRangesPerThread = 4;
// The customer of every this-many-th staged event is a sample for the
// range boundaries.
constexpr int64_t kSampleEvery = 64;

// The replay's work, counted in half records: a record counts one half
// when read and the other when folded, or both at once when it is not to
// be folded.
using HalfRecords = std::atomic<int64_t>;

// What staging a partition found.
struct StagedPartition {
  // next_offset, dead_lettered, unknown_skipped and after_cut as the
  // partition's progress row will hold them; `folded` counts the events
  // staged, duplicates included.
  store::v1::PartitionProgress progress;
  // Customers of some staged events, for the range boundaries.
  std::vector<std::string> samples;
};

// Stage one: reads records [0, stop) of `partition`, writes the timeline
// row of every event to fold and the dead letters; gives up between
// batches once `failed` is set.
absl::StatusOr<StagedPartition> StagePartition(
    infra::EventLog* log, infra::ProjectionStore* store, int32_t partition,
    int64_t stop, const ReplayOptions& options, HalfRecords* done,
    const std::atomic<bool>& failed) {
  StagedPartition staged;
  store::v1::PartitionProgress& progress = staged.progress;
  const int32_t partition_count = log->partition_count();
  rocksdb::ColumnFamilyHandle* timeline = store->family(Family::kTimeline);
  std::vector<infra::LogRecord> records;
  records.reserve(options.batch_records);
  events::v1::Event event;
  int64_t offset = 0;
  while (offset < stop && !failed.load()) {
    records.clear();
    KEHU_RETURN_IF_ERROR(log->Read(
        partition, offset,
        static_cast<size_t>(std::min<int64_t>(
            stop - offset, static_cast<int64_t>(options.batch_records))),
        &records));
    if (records.empty()) {
      return absl::DataLossError(absl::StrCat("no record at offset ", offset,
                                              ", below the end offset ", stop,
                                              " read at start"));
    }
    rocksdb::WriteBatch batch;
    int64_t halves = 0;
    for (const infra::LogRecord& record : records) {
      if (record.partition != partition || record.offset != offset) {
        return absl::DataLossError(absl::StrCat(
            "the log gave record ", record.partition, "/", record.offset,
            " where ", partition, "/", offset, " was expected"));
      }
      const Admission admission =
          AdmitRecord(record, options.until, partition_count, &event);
      if (admission.verdict == Admission::Verdict::kFold) {
        batch.Put(timeline, schema::TimelineKey(record.key, record.offset),
                  record.value);
        progress.set_folded(progress.folded() + 1);
        if (progress.folded() % kSampleEvery == 1) {
          staged.samples.push_back(record.key);
        }
        halves += 1;
      } else {
        if (admission.verdict == Admission::Verdict::kDeadLetter) {
          PutDeadLetter(record, admission, store, &batch);
        }
        CountPassedOver(admission.verdict, &progress);
        halves += 2;
      }
      ++offset;
    }
    KEHU_RETURN_IF_ERROR(store->Write(&batch));
    done->fetch_add(halves);
  }
  progress.set_next_offset(offset);
  return staged;
}

// Stage two: folds the staged events of the customers whose timeline keys
// are in [lower, upper) (empty `upper`: to the end), each customer's in
// log order: an event whose event_id the customer had already is a
// duplicate, whose timeline row goes; for the others a dedup row. Then
// writes the customer's state and index rows, and with `segments` their
// standing. Adds the duplicates found to `duplicates` (by partition).
absl::Status FoldRange(infra::ProjectionStore* store, const std::string& lower,
                       const std::string& upper, int32_t partition_count,
                       const SegmentIndex* segments, size_t batch_events,
                       HalfRecords* done, const std::atomic<bool>& failed,
                       std::vector<int64_t>* duplicates) {
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // each block is read once
  const rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) read.iterate_upper_bound = &upper_slice;
  rocksdb::ColumnFamilyHandle* timeline = store->family(Family::kTimeline);
  rocksdb::ColumnFamilyHandle* dedup = store->family(Family::kDedup);
  std::unique_ptr<rocksdb::Iterator> it(
      store->db()->NewIterator(read, timeline));
  const std::shared_ptr<const store::v1::PopulationModel> population =
      store->population();

  rocksdb::WriteBatch batch;
  SegmentIndex::CounterDeltas deltas;
  int64_t batch_halves = 0;
  std::string customer;  // the customer being folded; "" before the first
  int32_t partition = 0;
  store::v1::CustomerState state;
  absl::flat_hash_set<std::string> event_ids;
  events::v1::Event event;
  auto finish_customer = [&] {
    PutCustomerRows(state, /*old=*/nullptr, store, &batch);
    if (segments != nullptr) {
      segments->Write(nullptr, segments->Evaluate(state, *population), &batch,
                      &deltas);
    }
  };
  auto commit = [&]() -> absl::Status {
    KEHU_RETURN_IF_ERROR(store->Write(&batch));
    batch.Clear();
    done->fetch_add(batch_halves);
    batch_halves = 0;
    return absl::OkStatus();
  };

  for (it->Seek(lower); it->Valid(); it->Next()) {
    std::string_view id;
    int64_t offset = 0;
    const rocksdb::Slice key = it->key();
    if (!schema::ParseTimelineKey(std::string_view(key.data(), key.size()), &id,
                                  &offset)) {
      return absl::DataLossError(
          absl::StrCat("timeline key ", key.ToString(true), " is malformed"));
    }
    if (id != customer) {
      if (!customer.empty()) {
        finish_customer();
        // Between customers, so that a customer's rows go in one batch.
        if (batch_halves >= static_cast<int64_t>(batch_events)) {
          KEHU_RETURN_IF_ERROR(commit());
          if (failed.load()) return absl::OkStatus();
        }
      }
      customer.assign(id);
      partition = infra::PartitionForKey(customer, partition_count);
      state.Clear();
      event_ids.clear();
    }
    if (!event.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("the timeline row of customer ",
                                              customer, " at offset ", offset,
                                              " does not parse"));
    }
    if (!event_ids.insert(event.event_id()).second) {
      batch.Delete(timeline, key);
      ++(*duplicates)[partition];
    } else {
      FoldEvent(event, EventPosition{partition, offset}, &state);
      std::string value;
      schema::PutFixed64BE(&value, static_cast<uint64_t>(offset));
      batch.Put(dedup, schema::DedupKey(customer, event.event_id()), value);
    }
    ++batch_halves;
  }
  KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "reading the timeline"));
  if (!customer.empty()) finish_customer();
  if (segments != nullptr) segments->WriteCounters(deltas, &batch);
  return commit();
}

// Boundaries that split the customers of `samples` into about `ranges`
// ranges of as many staged events: timeline prefixes, ascending, the first
// "" (from the start).
std::vector<std::string> RangeBounds(std::vector<std::string> samples,
                                     int ranges) {
  std::vector<std::string> prefixes;
  prefixes.reserve(samples.size());
  for (const std::string& id : samples) {
    prefixes.push_back(schema::TimelinePrefix(id));
  }
  std::sort(prefixes.begin(), prefixes.end());
  std::vector<std::string> bounds = {""};
  for (int r = 1; r < ranges; ++r) {
    const std::string& bound = prefixes[prefixes.size() * r / ranges];
    if (bound > bounds.back()) bounds.push_back(bound);
  }
  return bounds;
}

// Runs task(0) ... task(tasks - 1) on up to `threads` threads, reporting
// progress with `report` every options.progress_interval and polling
// options.cancelled meanwhile; a task gets `failed`, set once another task
// failed or the replay was cancelled, and should then end early. Returns
// the first failure, its message prefixed by name(task).
absl::Status RunTasks(int tasks, int threads, const ReplayOptions& options,
                      const std::function<absl::Status(
                          int task, const std::atomic<bool>& failed)>& run,
                      const std::function<std::string(int task)>& name,
                      const std::function<void()>& report) {
  std::atomic<int> next_task{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  int running = 0;     // threads not yet finished; guarded by mu
  absl::Status error;  // the first failure; guarded by mu
  auto work = [&] {
    while (!failed.load()) {
      const int task = next_task.fetch_add(1);
      if (task >= tasks) break;
      const absl::Status s = run(task, failed);
      if (s.ok()) continue;
      absl::MutexLock lock(&mu);
      if (error.ok()) {
        error =
            absl::Status(s.code(), absl::StrCat(name(task), ": ", s.message()));
      }
      failed = true;
    }
    absl::MutexLock lock(&mu);
    --running;
  };

  const int workers = std::max(1, std::min(threads, tasks));
  {
    absl::MutexLock lock(&mu);
    running = workers;
  }
  std::vector<std::thread> pool;
  for (int i = 0; i < workers; ++i) pool.emplace_back(work);
  auto finished = [&running] { return running == 0; };
  while (true) {
    if (options.cancelled && options.cancelled()) {
      absl::MutexLock lock(&mu);
      if (error.ok()) error = absl::CancelledError("the replay was cancelled");
      failed = true;
    }
    bool all_finished;
    {
      absl::MutexLock lock(&mu);
      all_finished = mu.AwaitWithTimeout(absl::Condition(&finished),
                                         options.progress_interval);
    }
    if (all_finished) break;
    report();
  }
  for (auto& thread : pool) thread.join();
  absl::MutexLock lock(&mu);
  return error;
}

// Writes (`in_progress`) or deletes the meta row that marks the store as
// being built, through the write-ahead log and synced, whatever the
// store's own writes do.
absl::Status MarkReplayInProgress(infra::ProjectionStore* store,
                                  bool in_progress) {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::ColumnFamilyHandle* meta = store->family(Family::kMeta);
  const rocksdb::Status s =
      in_progress ? store->db()->Put(sync, meta,
                                     infra::schema::kMetaReplayInProgress, "")
                  : store->db()->Delete(sync, meta,
                                        infra::schema::kMetaReplayInProgress);
  return infra::FromRocks(s, "writing the replay mark");
}

}  // namespace

absl::StatusOr<ReplayResult> Replay(infra::EventLog* log,
                                    infra::ProjectionStore* store,
                                    const ReplayOptions& options) {
  if (options.batch_records == 0 || options.threads <= 0) {
    return absl::InvalidArgumentError(
        "replay: batch_records and threads must be > 0");
  }
  if (options.until_offset.has_value() && *options.until_offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "replay: until_offset must be >= 0, not ", *options.until_offset));
  }
  KEHU_RETURN_IF_ERROR(CheckFresh(*store));
  KEHU_RETURN_IF_ERROR(MarkReplayInProgress(store, true));

  const int32_t count = log->partition_count();
  ReplayResult result;
  ReplayProgress progress;
  for (int32_t p = 0; p < count; ++p) {
    int64_t stop = log->EndOffset(p);
    if (options.until_offset.has_value()) {
      stop = std::min(stop, *options.until_offset);
    }
    result.stop_offsets.push_back(stop);
    progress.records_total += stop;
  }

  const absl::Time start = absl::Now();
  HalfRecords done{0};
  auto report = [&] {
    progress.records_done = done.load() / 2;
    progress.elapsed = absl::Now() - start;
    if (options.on_progress) options.on_progress(progress);
  };

  // Stage one, by partition: the timeline rows of the events to fold.
  std::vector<StagedPartition> staged(count);
  KEHU_RETURN_IF_ERROR(RunTasks(
      count, options.threads, options,
      [&](int p, const std::atomic<bool>& failed) -> absl::Status {
        KEHU_ASSIGN_OR_RETURN(
            staged[p], StagePartition(log, store, p, result.stop_offsets[p],
                                      options, &done, failed));
        return absl::OkStatus();
      },
      [](int p) { return absl::StrCat("replaying partition ", p); }, report));
  // The timeline is read from table files from here on.
  KEHU_RETURN_IF_ERROR(store->Flush());

  // Stage two, by customer: state, index, dedup and (without a fit) the
  // segment index's rows.
  std::vector<std::string> samples;
  for (StagedPartition& partition : staged) {
    for (std::string& id : partition.samples) samples.push_back(std::move(id));
    partition.samples = {};
  }
  const std::vector<std::string> bounds =
      samples.empty()
          ? std::vector<std::string>{""}
          : RangeBounds(std::move(samples), options.threads * kRangesPerThread);
  const SegmentIndex segments(store);
  const SegmentIndex* standings =
      options.fit_as_of.has_value() ? nullptr : &segments;
  std::vector<std::vector<int64_t>> duplicates(bounds.size(),
                                               std::vector<int64_t>(count, 0));
  {
    absl::WriterMutexLock lock(&store->segment_mutex());
    KEHU_RETURN_IF_ERROR(RunTasks(
        static_cast<int>(bounds.size()), options.threads, options,
        [&](int r, const std::atomic<bool>& failed) {
          const std::string upper = r + 1 < static_cast<int>(bounds.size())
                                        ? bounds[r + 1]
                                        : std::string();
          return FoldRange(store, bounds[r], upper, count, standings,
                           options.batch_records, &done, failed,
                           &duplicates[r]);
        },
        [](int) { return std::string("folding by customer"); }, report));
  }

  // The partitions' progress, as the live projector keeps it.
  rocksdb::WriteBatch offsets;
  for (int32_t p = 0; p < count; ++p) {
    store::v1::PartitionProgress& partition = staged[p].progress;
    int64_t found = 0;
    for (const auto& range : duplicates) found += range[p];
    partition.set_folded(partition.folded() - found);
    partition.set_duplicates(found);
    if (partition.next_offset() > 0) {
      offsets.Put(store->family(Family::kOffsets), schema::PartitionKey(p),
                  partition.SerializeAsString());
    }
    result.folded += partition.folded();
    result.duplicates += partition.duplicates();
    result.dead_lettered += partition.dead_lettered();
    result.unknown_skipped += partition.unknown_skipped();
    result.after_cut += partition.after_cut();
    result.records += partition.next_offset();
  }
  KEHU_RETURN_IF_ERROR(store->Write(&offsets));
  // In table files, where the population step reads them, and durable.
  KEHU_RETURN_IF_ERROR(store->Flush());
  report();
  result.fold_time = progress.elapsed;

  if (options.fit_as_of.has_value()) {
    const absl::Time fit_start = absl::Now();
    // Folding wrote no standing, and nothing else writes the store.
    PopulationOptions population = options.population;
    population.index_empty = true;
    KEHU_ASSIGN_OR_RETURN(
        result.fit, RunPopulationStep(store, *options.fit_as_of, population));
    result.fit_time = absl::Now() - fit_start;
  }
  // Complete: durable in table files (the store may have been written
  // without a write-ahead log), then unmarked.
  KEHU_RETURN_IF_ERROR(store->Flush());
  KEHU_RETURN_IF_ERROR(MarkReplayInProgress(store, false));
  return result;
}

absl::StatusOr<ReplayResult> ReplayEmbeddedLog(
    const std::string& log_dir, const std::string& store_dir,
    const infra::ProjectionStoreOptions& store_options,
    const ReplayOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(fs::path(log_dir) / "CURRENT", ec)) {
    return absl::NotFoundError(absl::StrCat("no embedded log in ", log_dir));
  }
  if (fs::exists(store_dir, ec)) {
    if (!fs::is_directory(store_dir, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat(store_dir, " is not a directory"));
    }
    if (!fs::is_empty(store_dir, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          store_dir,
          " is not empty: a replay builds a fresh store (a replay that did "
          "not finish leaves its directory behind: remove it)"));
    }
  }

  absl::StatusOr<std::unique_ptr<infra::EmbeddedLog>> log =
      infra::EmbeddedLog::Open(log_dir, infra::EmbeddedLogOptions());
  if (absl::IsFailedPrecondition(log.status())) {
    // RocksDB's LOCK file is held: a replay reads a log nothing appends to.
    return absl::FailedPreconditionError(absl::StrCat(
        "the embedded log in ", log_dir,
        " is open in another process (a running `kehu serve`?); stop it "
        "before replaying"));
  }
  KEHU_RETURN_IF_ERROR(log.status());
  // A fresh store is rebuilt, not recovered, after a crash: no
  // write-ahead log (Replay() flushes the memtables before it unmarks the
  // store), and a timeline memtable for appending.
  infra::ProjectionStoreOptions bulk = store_options;
  bulk.bulk_load = true;
  KEHU_ASSIGN_OR_RETURN(std::unique_ptr<infra::ProjectionStore> store,
                        infra::ProjectionStore::Open(store_dir, bulk));
  return Replay(log->get(), store.get(), options);
}

}  // namespace kehu::projections
