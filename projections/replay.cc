#include "projections/replay.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "infra/embedded_log.h"
#include "infra/murmur2.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "projections/customer_fold.h"
#include "projections/customer_rows.h"
#include "projections/record_admission.h"
#include "projections/replay_files.h"
#include "projections/segment_index.h"

namespace kehu::projections {
namespace {

using infra::schema::Family;
using infra::schema::IndexMetric;
using infra::schema::SegmentOrder;
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

// Stage two splits the customers into key ranges, at least this many per
// thread, so that a thread done early takes another,
constexpr int kRangesPerThread = 4;
// and of at most about this many staged bytes, which a thread holds in
// memory while it folds the range.
constexpr int64_t kRangeBytes = int64_t{32} << 20;
// Staging keeps a file per range open.
constexpr int kMaxRanges = 512;
// The range bounds come from records read at this many places spread over
// each partition, this many records at each.
constexpr int64_t kSamplePlaces = 64;
constexpr size_t kSampleRecords = 16;
// Partitions sampled at once.
constexpr int kSampleThreads = 16;
// Stages two and three touch a staged row this many rows ahead of using
// it.
constexpr size_t kPrefetchRows = 8;

// The replay's work, counted in half records: a record counts one half
// when read and the other when folded, or both at once when it is not to
// be folded.
using HalfRecords = std::atomic<int64_t>;

// The timeline prefixes of the records that stage one will stage, read at
// kSamplePlaces places spread over [0, stop) of `partition`, and their
// staged size in bytes.
absl::Status SamplePartition(infra::EventLog* log, int32_t partition,
                             int64_t stop, std::vector<std::string>* prefixes,
                             int64_t* sampled_bytes) {
  std::vector<infra::LogRecord> records;
  int64_t next = 0;  // places overlap in a short partition: skip ahead
  for (int64_t place = 0; place < kSamplePlaces; ++place) {
    const int64_t offset = std::max(next, stop * place / kSamplePlaces);
    if (offset >= stop) break;
    records.clear();
    KEHU_RETURN_IF_ERROR(log->Read(
        partition, offset,
        static_cast<size_t>(std::min<int64_t>(stop - offset, kSampleRecords)),
        &records));
    for (const infra::LogRecord& record : records) {
      // As stage one stages them.
      if (!MayFold(record.key, partition, log->partition_count())) continue;
      prefixes->push_back(schema::TimelinePrefix(record.key));
      *sampled_bytes += static_cast<int64_t>(2 * record.key.size() +
                                             record.value.size() + 17);
    }
    next = offset + static_cast<int64_t>(records.size());
  }
  return absl::OkStatus();
}

// Boundaries that split the timeline into ranges of about as many staged
// bytes, from records sampled over [0, stop_offsets[p]) of every partition
// p: timeline prefixes, ascending, the first "" (from the start). At least
// `min_ranges` of them when the sample has that many customers. The
// partitions are sampled side by side: on Kafka each place is a seek and
// a fetch, a wait rather than work.
absl::StatusOr<std::vector<std::string>> RangeBounds(
    infra::EventLog* log, const std::vector<int64_t>& stop_offsets,
    int min_ranges) {
  const int partitions = static_cast<int>(stop_offsets.size());
  std::vector<std::vector<std::string>> sampled(partitions);
  std::vector<int64_t> sampled_bytes(partitions, 0);
  std::vector<absl::Status> statuses(partitions);
  std::atomic<int> next_partition{0};
  auto sample = [&] {
    for (int p = next_partition++; p < partitions; p = next_partition++) {
      statuses[p] = SamplePartition(log, p, stop_offsets[p], &sampled[p],
                                    &sampled_bytes[p]);
    }
  };
  std::vector<std::thread> samplers;
  for (int i = 0; i < std::min(partitions, kSampleThreads); ++i) {
    samplers.emplace_back(sample);
  }
  for (std::thread& sampler : samplers) sampler.join();

  std::vector<std::string> prefixes;
  int64_t bytes_sampled = 0;
  int64_t total_records = 0;
  for (int p = 0; p < partitions; ++p) {
    KEHU_RETURN_IF_ERROR(statuses[p]);
    prefixes.insert(prefixes.end(), std::make_move_iterator(sampled[p].begin()),
                    std::make_move_iterator(sampled[p].end()));
    bytes_sampled += sampled_bytes[p];
    total_records += stop_offsets[p];
  }
  if (prefixes.empty()) return std::vector<std::string>{""};
  const int64_t bytes =
      bytes_sampled / static_cast<int64_t>(prefixes.size()) * total_records;
  const int ranges = static_cast<int>(std::clamp<int64_t>(
      (bytes + kRangeBytes - 1) / kRangeBytes, min_ranges, kMaxRanges));
  std::sort(prefixes.begin(), prefixes.end());
  std::vector<std::string> bounds = {""};
  for (int r = 1; r < ranges; ++r) {
    const std::string& bound = prefixes[prefixes.size() * r / ranges];
    if (bound > bounds.back()) bounds.push_back(bound);
  }
  return bounds;
}

// Stage one: reads records [0, stop) of `partition` and stages every
// record that may be folded (MayFold) under its timeline key, undecoded:
// stage two decodes and judges it. The others (a key that is not this
// partition's, or too long for a customer id) are judged here, and their
// dead letters written. Gives up between batches once `failed` is set.
// Returns the partition's progress row with next_offset, and the records
// judged here counted in it.
absl::StatusOr<store::v1::PartitionProgress> StagePartition(
    infra::EventLog* log, infra::ProjectionStore* store, int32_t partition,
    int64_t stop, const ReplayOptions& options, StagingArea* staging,
    HalfRecords* done, const std::atomic<bool>& failed) {
  store::v1::PartitionProgress progress;
  const int32_t partition_count = log->partition_count();
  StagingArea::Writer staged(staging);
  events::v1::Event event;
  int64_t offset = 0;
  while (offset < stop && !failed.load()) {
    const int64_t first = offset;
    rocksdb::WriteBatch dead_letters;
    int64_t halves = 0;
    auto stage = [&](const infra::LogRecordView& record) -> absl::Status {
      if (record.partition != partition || record.offset != offset) {
        return absl::DataLossError(absl::StrCat(
            "the log gave record ", record.partition, "/", record.offset,
            " where ", partition, "/", offset, " was expected"));
      }
      ++offset;
      if (MayFold(record.key, partition, partition_count)) {
        halves += 1;
        return staged.Add(schema::TimelineKey(record.key, record.offset),
                          record.value);
      }
      const Admission admission =
          AdmitRecord(record, options.until, partition_count, &event);
      if (admission.verdict == Admission::Verdict::kFold) {
        return absl::InternalError(absl::StrCat(
            "record ", partition, "/", record.offset,
            " was admitted although its key cannot be folded here"));
      }
      if (admission.verdict == Admission::Verdict::kDeadLetter) {
        PutDeadLetter(record, admission, store, &dead_letters);
      }
      CountPassedOver(admission.verdict, &progress);
      halves += 2;
      return absl::OkStatus();
    };
    KEHU_RETURN_IF_ERROR(log->Scan(
        partition, offset,
        static_cast<size_t>(std::min<int64_t>(
            stop - offset, static_cast<int64_t>(options.batch_records))),
        stage));
    if (offset == first) {
      return absl::DataLossError(absl::StrCat("no record at offset ", offset,
                                              ", below the end offset ", stop,
                                              " read at start"));
    }
    if (dead_letters.Count() > 0) {
      KEHU_RETURN_IF_ERROR(store->Write(&dead_letters));
    }
    done->fetch_add(halves);
  }
  KEHU_RETURN_IF_ERROR(staged.Flush());
  progress.set_next_offset(offset);
  return progress;
}

// Adds the counts of `from` (folded, duplicates, dead_lettered,
// unknown_skipped, after_cut) to `to`.
void AddCounts(const store::v1::PartitionProgress& from,
               store::v1::PartitionProgress* to) {
  to->set_folded(to->folded() + from.folded());
  to->set_duplicates(to->duplicates() + from.duplicates());
  to->set_dead_lettered(to->dead_lettered() + from.dead_lettered());
  to->set_unknown_skipped(to->unknown_skipped() + from.unknown_skipped());
  to->set_after_cut(to->after_cut() + from.after_cut());
}

// Stage two stages the rows of the families kept in value order (the
// indexes, the segment index's standings and orders) by their family and
// key, in ranges of one metric or order each, and stage three writes each
// range to a table file. These are the ranges' lower bounds.
std::vector<std::string> OrderedBounds() {
  auto staged_key = [](Family family, std::string_view key) {
    std::string staged(1, static_cast<char>(family));
    staged.append(key);
    return staged;
  };
  std::vector<std::string> bounds = {""};
  for (const IndexMetric metric : {IndexMetric::kRevenue, IndexMetric::kMargin,
                                   IndexMetric::kPurchaseCount}) {
    bounds.push_back(staged_key(Family::kIndexes, schema::IndexPrefix(metric)));
  }
  for (const SegmentOrder order :
       {SegmentOrder::kCurrentValue, SegmentOrder::kHistoricalValue,
        SegmentOrder::kRecency, SegmentOrder::kSatisfaction,
        SegmentOrder::kChurnRisk}) {
    bounds.push_back(
        staged_key(Family::kSegments, schema::SegmentOrderPrefix(order)));
  }
  bounds.push_back(staged_key(Family::kSegments, schema::StandingPrefix()));
  return bounds;
}

// Moves the puts of `batch` into the indexes and segments families to
// `ordered` (keyed by family and key), and writes the rest (the segment
// counters' merges) to `store`.
absl::Status StageOrderedRows(infra::ProjectionStore* store,
                              const rocksdb::WriteBatch& batch,
                              StagingArea::Writer* ordered) {
  class Router : public rocksdb::WriteBatch::Handler {
   public:
    Router(infra::ProjectionStore* store, StagingArea::Writer* ordered)
        : store_(store), ordered_(ordered) {}
    rocksdb::Status PutCF(uint32_t family_id, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
      for (const Family family : {Family::kIndexes, Family::kSegments}) {
        if (store_->family(family)->GetID() != family_id) continue;
        staged_key_.assign(1, static_cast<char>(family));
        staged_key_.append(key.data(), key.size());
        status_.Update(ordered_->Add(
            staged_key_, std::string_view(value.data(), value.size())));
        return rocksdb::Status::OK();
      }
      rocksdb::ColumnFamilyHandle* handle = Handle(family_id);
      if (handle == nullptr) return UnknownFamily(family_id);
      return rest_.Put(handle, key, value);
    }
    rocksdb::Status MergeCF(uint32_t family_id, const rocksdb::Slice& key,
                            const rocksdb::Slice& value) override {
      rocksdb::ColumnFamilyHandle* handle = Handle(family_id);
      if (handle == nullptr) return UnknownFamily(family_id);
      return rest_.Merge(handle, key, value);
    }
    rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override {
      return rocksdb::Status::NotSupported("a replay deletes no row");
    }
    absl::Status Finish() {
      KEHU_RETURN_IF_ERROR(status_);
      return rest_.Count() > 0 ? store_->Write(&rest_) : absl::OkStatus();
    }

   private:
    static rocksdb::Status UnknownFamily(uint32_t family_id) {
      return rocksdb::Status::InvalidArgument(
          absl::StrCat("a batch names column family ", family_id,
                       ", which is not one of the store's"));
    }
    // The store's family with id `family_id`; nullptr when none.
    rocksdb::ColumnFamilyHandle* Handle(uint32_t family_id) const {
      for (int f = 0; f < schema::kFamilyCount; ++f) {
        rocksdb::ColumnFamilyHandle* handle =
            store_->family(static_cast<Family>(f));
        if (handle->GetID() == family_id) return handle;
      }
      return nullptr;
    }
    infra::ProjectionStore* store_;
    StagingArea::Writer* ordered_;
    std::string staged_key_;
    rocksdb::WriteBatch rest_;
    absl::Status status_;
  };
  Router router(store, ordered);
  KEHU_RETURN_IF_ERROR(
      infra::FromRocks(batch.Iterate(&router), "staging ordered rows"));
  return router.Finish();
}

// Stage three: writes the staged rows of range `range` of `ordered` in key
// order to a table file per family, and ingests them.
absl::Status WriteOrderedRange(infra::ProjectionStore* store,
                               StagingArea* ordered, int range,
                               const std::string& table_prefix) {
  StagingArea::Contents contents;
  std::vector<StagingArea::Row> rows;
  KEHU_RETURN_IF_ERROR(ordered->Read(range, &contents, &rows));
  ordered->Remove(range);
  SortRows(&rows);
  std::unique_ptr<TableFile> file;
  char family = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    // Sorted, the rows are spread over the file: ask for the next early.
    if (i + kPrefetchRows < rows.size()) {
      __builtin_prefetch(rows[i + kPrefetchRows].key.data());
    }
    const StagingArea::Row& row = rows[i];
    if (file == nullptr || row.key[0] != family) {
      if (file != nullptr) KEHU_RETURN_IF_ERROR(file->Ingest());
      family = row.key[0];
      if (family < 0 || family >= schema::kFamilyCount) {
        return absl::DataLossError("a staged row names no family");
      }
      file = std::make_unique<TableFile>(
          store, static_cast<Family>(family),
          absl::StrCat(table_prefix, static_cast<int>(family), ".sst"));
    }
    KEHU_RETURN_IF_ERROR(file->Put(row.key.substr(1), row.value));
  }
  return file != nullptr ? file->Ingest() : absl::OkStatus();
}

// Stage two: judges and folds the staged records of range `range`,
// customer by customer, each customer's in log order, as the live
// projector would: AdmitRecord() first (dead letters are written, the
// records passed over counted); then an event whose event_id the customer
// had already is a duplicate, and gets no timeline row; the others are
// folded and get their timeline and dedup rows. Then, for a customer with
// an event folded, their state and index rows, and with `segments` their
// standing. Timeline, dedup and state rows go to table files that are
// ingested at the end; the rest in WriteBatches of about `batch_events`
// records. Adds what it counted to `counts` (by partition).
absl::Status FoldRange(infra::ProjectionStore* store, StagingArea* staging,
                       int range, const std::string& table_prefix,
                       int32_t partition_count,
                       const std::optional<absl::Time>& cut,
                       const SegmentIndex* segments, size_t batch_events,
                       StagingArea* ordered_rows, HalfRecords* done,
                       const std::atomic<bool>& failed,
                       std::vector<store::v1::PartitionProgress>* counts) {
  StagingArea::Contents contents;
  std::vector<TimelineRow> rows;
  {
    std::vector<StagingArea::Row> staged;
    KEHU_RETURN_IF_ERROR(staging->Read(range, &contents, &staged));
    staging->Remove(range);
    KEHU_RETURN_IF_ERROR(SortTimelineRows(staged, &rows));
  }

  TableFile timeline(store, Family::kTimeline,
                     absl::StrCat(table_prefix, "timeline.sst"));
  TableFile dedup(store, Family::kDedup,
                  absl::StrCat(table_prefix, "dedup.sst"));
  TableFile customers(store, Family::kCustomers,
                      absl::StrCat(table_prefix, "customers.sst"));
  // State rows, by customer id: the customers family's order, which is
  // not the timeline's when ids differ in length.
  std::vector<std::pair<std::string, std::string>> states;
  // The current customer's folded event ids, with the offset each was
  // folded at: their dedup rows, sorted by event id before writing.
  absl::flat_hash_map<std::string, int64_t> folded_ids;
  std::vector<std::pair<std::string_view, int64_t>> dedup_rows;
  const std::shared_ptr<const store::v1::PopulationModel> population =
      store->population();

  rocksdb::WriteBatch batch;
  StagingArea::Writer ordered(ordered_rows);
  SegmentIndex::CounterDeltas deltas;
  int64_t batch_halves = 0;
  std::string customer;       // the customer being folded
  bool any_customer = false;  // whether `customer` is set
  bool any_folded = false;    // whether an event of `customer` was folded
  int32_t partition = 0;
  store::v1::CustomerState state;
  events::v1::Event event;
  auto finish_customer = [&]() -> absl::Status {
    if (!any_folded) return absl::OkStatus();  // no event of theirs folded
    dedup_rows.assign(folded_ids.begin(), folded_ids.end());
    std::sort(dedup_rows.begin(), dedup_rows.end());
    std::string value;
    for (const auto& [event_id, offset] : dedup_rows) {
      value.clear();
      schema::PutFixed64BE(&value, static_cast<uint64_t>(offset));
      KEHU_RETURN_IF_ERROR(
          dedup.Put(schema::DedupKey(customer, event_id), value));
    }
    states.emplace_back(schema::CustomerKey(customer),
                        state.SerializeAsString());
    PutIndexRows(state, /*old=*/nullptr, store, &batch);
    if (segments != nullptr) {
      segments->Write(nullptr, segments->Evaluate(state, *population), &batch,
                      &deltas);
    }
    return absl::OkStatus();
  };
  auto commit = [&]() -> absl::Status {
    KEHU_RETURN_IF_ERROR(StageOrderedRows(store, batch, &ordered));
    batch.Clear();
    done->fetch_add(batch_halves);
    batch_halves = 0;
    return absl::OkStatus();
  };

  for (size_t i = 0; i < rows.size(); ++i) {
    // The rows are spread over the file: ask for the next ones early.
    if (i + kPrefetchRows < rows.size()) {
      __builtin_prefetch(rows[i + kPrefetchRows].key.data());
    }
    const TimelineRow& row = rows[i];
    const std::string_view id = row.customer_id;
    const int64_t offset = row.offset;
    if (!any_customer || id != customer) {
      if (any_customer) {
        KEHU_RETURN_IF_ERROR(finish_customer());
        // Between customers, so that a customer's rows go in one batch.
        if (batch_halves >= static_cast<int64_t>(batch_events)) {
          KEHU_RETURN_IF_ERROR(commit());
          if (failed.load()) return absl::OkStatus();
        }
      }
      customer.assign(id);
      any_customer = true;
      any_folded = false;
      partition = infra::PartitionForKey(customer, partition_count);
      state.Clear();
      folded_ids.clear();
    }
    // Stage one staged the record in the partition its key names.
    const infra::LogRecordView record(partition, offset, id, row.value);
    store::v1::PartitionProgress& counted = (*counts)[partition];
    const Admission admission =
        AdmitRecord(record, cut, partition_count, &event);
    if (admission.verdict != Admission::Verdict::kFold) {
      if (admission.verdict == Admission::Verdict::kDeadLetter) {
        PutDeadLetter(record, admission, store, &batch);
      }
      CountPassedOver(admission.verdict, &counted);
    } else if (!folded_ids.try_emplace(event.event_id(), offset).second) {
      counted.set_duplicates(counted.duplicates() + 1);
    } else {
      FoldEvent(event, EventPosition{partition, offset}, &state);
      KEHU_RETURN_IF_ERROR(timeline.Put(row.key, row.value));
      counted.set_folded(counted.folded() + 1);
      any_folded = true;
    }
    ++batch_halves;
  }
  if (any_customer) KEHU_RETURN_IF_ERROR(finish_customer());
  rows = {};
  contents.Reset();

  std::sort(states.begin(), states.end());
  for (const auto& [key, value] : states) {
    KEHU_RETURN_IF_ERROR(customers.Put(key, value));
  }
  KEHU_RETURN_IF_ERROR(timeline.Ingest());
  KEHU_RETURN_IF_ERROR(dedup.Ingest());
  KEHU_RETURN_IF_ERROR(customers.Ingest());
  if (segments != nullptr) segments->WriteCounters(deltas, &batch);
  KEHU_RETURN_IF_ERROR(commit());
  return ordered.Flush();
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
  if (options.batch_records == 0 || options.threads <= 0 ||
      options.read_threads < 0) {
    return absl::InvalidArgumentError(
        "replay: batch_records and threads must be > 0, read_threads >= 0");
  }
  if (options.until_offset.has_value() && *options.until_offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "replay: until_offset must be >= 0, not ", *options.until_offset));
  }
  const int32_t count = log->partition_count();
  std::vector<bool> replayed(count, !options.partitions.has_value());
  for (const int32_t p : options.partitions.value_or(std::vector<int32_t>())) {
    if (p < 0 || p >= count) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replay: partition ", p, " out of range [0, ", count, ")"));
    }
    replayed[p] = true;
  }
  KEHU_RETURN_IF_ERROR(CheckFresh(*store));
  KEHU_RETURN_IF_ERROR(MarkReplayInProgress(store, true));

  ReplayResult result;
  ReplayProgress progress;
  for (int32_t p = 0; p < count; ++p) {
    int64_t stop = replayed[p] ? log->EndOffset(p) : 0;
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

  // The customers' key ranges, and where stage one leaves their events.
  KEHU_ASSIGN_OR_RETURN(const std::vector<std::string> bounds,
                        RangeBounds(log, result.stop_offsets,
                                    options.threads * kRangesPerThread));
  // Scratch directories in the store's, removed once read.
  const std::string scratch = absl::StrCat(store->db()->GetName(), "/replay-");
  KEHU_ASSIGN_OR_RETURN(std::unique_ptr<StagingArea> staging,
                        StagingArea::Create(scratch + "staged", bounds));
  KEHU_ASSIGN_OR_RETURN(
      std::unique_ptr<StagingArea> ordered,
      StagingArea::Create(scratch + "ordered", OrderedBounds()));

  // Stage one, by partition: stage the records to judge and fold.
  absl::Time stage_start = absl::Now();
  progress.stage = "reading the log";
  std::vector<store::v1::PartitionProgress> staged(count);
  KEHU_RETURN_IF_ERROR(RunTasks(
      count, options.read_threads > 0 ? options.read_threads : options.threads,
      options,
      [&](int p, const std::atomic<bool>& failed) -> absl::Status {
        KEHU_ASSIGN_OR_RETURN(
            staged[p], StagePartition(log, store, p, result.stop_offsets[p],
                                      options, staging.get(), &done, failed));
        return absl::OkStatus();
      },
      [](int p) { return absl::StrCat("replaying partition ", p); }, report));
  result.read_time = absl::Now() - stage_start;

  // Stage two, by customer: timeline, state, index, dedup and (without a
  // fit) the segment index's rows.
  const SegmentIndex segments(store);
  const SegmentIndex* standings =
      options.fit_as_of.has_value() ? nullptr : &segments;
  std::vector<std::vector<store::v1::PartitionProgress>> counts(
      bounds.size(), std::vector<store::v1::PartitionProgress>(count));
  stage_start = absl::Now();
  progress.stage = "folding by customer";
  {
    absl::WriterMutexLock lock(&store->segment_mutex());
    KEHU_RETURN_IF_ERROR(RunTasks(
        static_cast<int>(bounds.size()), options.threads, options,
        [&](int r, const std::atomic<bool>& failed) {
          return FoldRange(store, staging.get(), r,
                           absl::StrCat(scratch, "staged/range-", r, "-"),
                           count, options.until, standings,
                           options.batch_records, ordered.get(), &done, failed,
                           &counts[r]);
        },
        [](int) { return std::string("folding by customer"); }, report));
  }
  staging.reset();
  result.customer_time = absl::Now() - stage_start;

  // Stage three, by metric and order: the rows kept in value order.
  stage_start = absl::Now();
  progress.stage = "writing the ordered indexes";
  KEHU_RETURN_IF_ERROR(RunTasks(
      ordered->range_count(), options.threads, options,
      [&](int r, const std::atomic<bool>&) {
        return WriteOrderedRange(
            store, ordered.get(), r,
            absl::StrCat(scratch, "ordered/range-", r, "-"));
      },
      [](int) { return std::string("writing the ordered indexes"); }, report));
  ordered.reset();
  result.ordered_time = absl::Now() - stage_start;

  // The partitions' progress, as the live projector keeps it.
  rocksdb::WriteBatch offsets;
  for (int32_t p = 0; p < count; ++p) {
    store::v1::PartitionProgress& partition = staged[p];
    for (const auto& range : counts) AddCounts(range[p], &partition);
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
    progress.stage = "measuring the population";
    if (options.on_progress) options.on_progress(progress);
    // Folding wrote no standing, and nothing else writes the store.
    PopulationOptions population = options.population;
    population.index_empty = true;
    population.threads = options.threads;
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

absl::StatusOr<ReplayResult> ReplayIntoNewStore(
    infra::EventLog* log, const std::string& store_dir,
    const infra::ProjectionStoreOptions& store_options,
    const ReplayOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
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
  // A fresh store is rebuilt, not recovered, after a crash: no
  // write-ahead log (Replay() flushes the memtables before it unmarks the
  // store), and vector memtables for the little a replay still writes
  // through them (dead letters, segment counters).
  infra::ProjectionStoreOptions bulk = store_options;
  bulk.bulk_load = true;
  KEHU_ASSIGN_OR_RETURN(std::unique_ptr<infra::ProjectionStore> store,
                        infra::ProjectionStore::Open(store_dir, bulk));
  return Replay(log, store.get(), options);
}

absl::StatusOr<ReplayResult> ReplayEmbeddedLog(
    const std::string& log_dir, const std::string& store_dir,
    const infra::ProjectionStoreOptions& store_options,
    const ReplayOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(log_dir) / "CURRENT",
                               ec)) {
    return absl::NotFoundError(absl::StrCat("no embedded log in ", log_dir));
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
  return ReplayIntoNewStore(log->get(), store_dir, store_options, options);
}

}  // namespace kehu::projections
