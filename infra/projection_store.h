// ProjectionStore: the RocksDB database that holds every view the
// projectors fold (layout in store_schema.h).
//
// Operation: opened once per process; the projector writes one WriteBatch
// per fold batch (state rows, index rows and the partition's progress
// together), the query service reads rows and iterates indexes. Writes are
// not fsynced: the event log is the system of record, and RocksDB's WAL
// recovery keeps a prefix of the batches, so state and progress stay
// consistent after a crash and the projector refolds the lost tail.
//
// A store that a replay is still building, or whose replay did not finish,
// holds the meta row kMetaReplayInProgress; Open() and OpenReadOnly()
// refuse it (FAILED_PRECONDITION), since it may lack rows of any family.
//
// A store can also be opened read-only (OpenReadOnly: `kehu digest`),
// beside a process that has it open for writing.
//
// Concurrency: all methods are thread-safe (RocksDB's guarantees).
#ifndef KEHU_INFRA_PROJECTION_STORE_H_
#define KEHU_INFRA_PROJECTION_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "infra/store_schema.h"
#include "kehu/store/v1/store.pb.h"
#include "rocksdb/db.h"

namespace kehu::infra {

struct ProjectionStoreOptions {
  // ISO 4217 currency that money indexes (top customers by revenue or
  // margin) rank by. Fixed when the store is created; changing it needs a
  // replay into a fresh store.
  std::string reporting_currency = "EUR";
  // Size of the shared block cache.
  size_t block_cache_bytes = size_t{256} << 20;
  // Memory the memtables of all column families may take together; past
  // it, RocksDB flushes the largest. 0: only each family's own bound
  // (64 MB, two memtables).
  size_t memtable_bytes = size_t{256} << 20;
  // A bulk load into a fresh store (a replay, projections/replay.h), which
  // is rebuilt from the log after a crash rather than recovered:
  // - Write() skips RocksDB's write-ahead log: a crash loses every write
  //   not yet flushed to table files; Flush() makes what was written
  //   durable.
  // - The memtables of the families the load only writes (customers,
  //   timeline, indexes, dedup, dead letters, segments) are plain vectors,
  //   appended to and sorted once when flushed, instead of skip lists
  //   searched at every insert, and Write() hands batches over unsorted.
  //   Reading such a family from its memtable would sort a copy each time:
  //   flush first, and read no standing while writing them (the population
  //   step's PopulationOptions::index_empty).
  //   Memtable writes of concurrent batches are applied one after another,
  //   which a vector needs.
  // - Those families' flushes write uncompressed level-0 files; only the
  //   bottom level is compressed. Until a compaction merges them, the
  //   level-0 files left at the end take more disk.
  bool bulk_load = false;
};

class ProjectionStore {
 public:
  // Opens the store in `dir`, creating it if missing.
  static absl::StatusOr<std::unique_ptr<ProjectionStore>> Open(
      const std::string& dir, const ProjectionStoreOptions& options);

  // Opens the existing store in `dir` for reading only, with RocksDB's
  // read-only mode: no LOCK file is taken, so this works while a `kehu
  // serve` holds the store. It reads the store as it was when opened (its
  // table files and write-ahead log at that moment); later writes by
  // another process are not seen. Every write through it fails. Fails with
  // NOT_FOUND when `dir` holds no store.
  static absl::StatusOr<std::unique_ptr<ProjectionStore>> OpenReadOnly(
      const std::string& dir, size_t block_cache_bytes = size_t{64} << 20);

  // The reporting currency of the existing store in `dir`, read with only
  // the `meta` family open (read-only, as OpenReadOnly), so that it stays
  // cheap beside a large write-ahead log. Fails with NOT_FOUND when `dir`
  // holds no store.
  static absl::StatusOr<std::string> ReadReportingCurrency(
      const std::string& dir);

  // The population row of the existing store in `dir` (nullopt when it was
  // never fitted), read the same way, and whatever the store's layout
  // version: the row is a PopulationModel message in every version, so a
  // population snapshot taken by an older kehu still gives its population.
  // Fails with NOT_FOUND when `dir` holds no store.
  static absl::StatusOr<std::optional<store::v1::PopulationModel>>
  ReadPopulationOf(const std::string& dir);

  ~ProjectionStore();
  ProjectionStore(const ProjectionStore&) = delete;
  ProjectionStore& operator=(const ProjectionStore&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* family(schema::Family f) const {
    return families_[static_cast<int>(f)];
  }
  const std::string& reporting_currency() const { return reporting_currency_; }

  // The customer's state row; nullopt when no event of theirs was folded.
  // Reads at `snapshot` when given, else the latest state.
  absl::StatusOr<std::optional<store::v1::CustomerState>> GetCustomer(
      std::string_view customer_id,
      const rocksdb::Snapshot* snapshot = nullptr) const;

  // The projector's progress on `partition` (all zero before its first batch).
  absl::StatusOr<store::v1::PartitionProgress> GetProgress(
      int32_t partition) const;

  // The population row written by the last `kehu fit` (projections/
  // population.h); nullopt before the first.
  absl::StatusOr<std::optional<store::v1::PopulationModel>> GetPopulation()
      const;
  // The same, from memory (kept in step by PutPopulation); an empty model
  // (as_of_us 0) before the first fit.
  std::shared_ptr<const store::v1::PopulationModel> population() const;
  absl::Status PutPopulation(const store::v1::PopulationModel& population);

  // Applies `batch` atomically. Its operations are handed to RocksDB in
  // key order (same effect: operations on one key keep their order), which
  // RocksDB's skip-list memtables insert much faster than rows of many
  // customers in the order they were folded; not in a bulk load, whose
  // big families append to a vector.
  absl::Status Write(rocksdb::WriteBatch* batch);

  // Flushes memtables and the WAL; called on clean shutdown.
  absl::Status Flush();

  // Orders updates of the segment index (projections/segment_index.h): the
  // projectors, which update the customers they fold, hold it shared; a
  // refresh of every customer holds it exclusively, a chunk at a time.
  absl::Mutex& segment_mutex() const { return segment_mu_; }

 private:
  ProjectionStore() = default;
  absl::StatusOr<std::optional<store::v1::PopulationModel>> ReadPopulation()
      const;

  mutable absl::Mutex population_mu_;
  std::shared_ptr<const store::v1::PopulationModel> population_
      ABSL_GUARDED_BY(population_mu_);
  mutable absl::Mutex segment_mu_;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::string reporting_currency_;
  rocksdb::WriteOptions write_options_;
  bool sort_writes_ = true;  // Write() sorts; false in a bulk load
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_PROJECTION_STORE_H_
