#include "projections/replay.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "infra/embedded_log.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "projections/segment_index.h"

namespace kehu::projections {
namespace {

using infra::schema::Family;

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

// Folds records [0, stop) of `partition`, adding the records read to
// `done`; gives up between batches once `failed` is set.
absl::StatusOr<store::v1::PartitionProgress> FoldPartition(
    infra::EventLog* log, infra::ProjectionStore* store, int32_t partition,
    int64_t stop, const ReplayOptions& options, std::atomic<int64_t>* done,
    const std::atomic<bool>* failed) {
  KEHU_ASSIGN_OR_RETURN(
      std::unique_ptr<PartitionProjector> projector,
      PartitionProjector::Create(store, partition, options.cache_customers,
                                 log->partition_count()));
  if (options.until.has_value()) projector->set_cut(*options.until);
  projector->set_bulk_load();
  std::vector<infra::LogRecord> records;
  records.reserve(options.batch_records);
  while (projector->next_offset() < stop && !failed->load()) {
    const int64_t offset = projector->next_offset();
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
    KEHU_RETURN_IF_ERROR(projector->Process(records));
    done->fetch_add(static_cast<int64_t>(records.size()));
  }
  if (!failed->load()) KEHU_RETURN_IF_ERROR(projector->Finish());
  return projector->progress();
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
      in_progress
          ? store->db()->Put(sync, meta, infra::schema::kMetaReplayInProgress,
                             "")
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
  std::atomic<int64_t> done{0};
  std::atomic<int32_t> next_partition{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  int running = 0;     // worker threads not yet finished; guarded by mu
  absl::Status error;  // the first partition's failure; guarded by mu
  std::vector<store::v1::PartitionProgress> partitions(count);

  auto work = [&] {
    while (!failed.load()) {
      const int32_t p = next_partition.fetch_add(1);
      if (p >= count) break;
      auto folded = FoldPartition(log, store, p, result.stop_offsets[p],
                                  options, &done, &failed);
      if (folded.ok()) {
        partitions[p] = *std::move(folded);
        continue;
      }
      absl::MutexLock lock(&mu);
      if (error.ok()) {
        error = absl::Status(folded.status().code(),
                             absl::StrCat("replaying partition ", p, ": ",
                                          folded.status().message()));
      }
      failed = true;
    }
    absl::MutexLock lock(&mu);
    --running;
  };

  const int workers = std::max(1, std::min<int>(options.threads, count));
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu);
    running = workers;
  }
  for (int i = 0; i < workers; ++i) threads.emplace_back(work);
  auto report = [&] {
    progress.records_done = done.load();
    progress.elapsed = absl::Now() - start;
    if (options.on_progress) options.on_progress(progress);
  };
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
  for (auto& thread : threads) thread.join();
  {
    absl::MutexLock lock(&mu);
    if (!error.ok()) return error;
  }
  // The projectors folded without the segment index. The population step
  // evaluates every customer anyway; without one, build it here.
  if (!options.fit_as_of.has_value()) {
    KEHU_RETURN_IF_ERROR(
        SegmentIndex(store).BuildAll(options.threads).status());
  }
  report();
  result.fold_time = progress.elapsed;

  for (const auto& p : partitions) {
    result.folded += p.folded();
    result.duplicates += p.duplicates();
    result.dead_lettered += p.dead_lettered();
    result.unknown_skipped += p.unknown_skipped();
    result.after_cut += p.after_cut();
  }
  result.records = done.load();

  if (options.fit_as_of.has_value()) {
    const absl::Time fit_start = absl::Now();
    KEHU_ASSIGN_OR_RETURN(
        result.fit,
        RunPopulationStep(store, *options.fit_as_of, options.population));
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
