#include "infra/projection_store.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace kehu::infra {
using schema::Family;

namespace {

// Adds counter rows (schema::EncodeCounters) element by element; a shorter
// row counts as zeros where it ends.
class AddCounters final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/,
             const rocksdb::Slice* existing_value, const rocksdb::Slice& value,
             std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    std::vector<int64_t> sum = schema::DecodeCounters(
        existing_value != nullptr ? existing_value->ToStringView() : "");
    const std::vector<int64_t> add =
        schema::DecodeCounters(value.ToStringView());
    if (add.size() > sum.size()) sum.resize(add.size(), 0);
    for (size_t i = 0; i < add.size(); ++i) sum[i] += add[i];
    *new_value = schema::EncodeCounters(sum);
    return true;
  }
  const char* Name() const override { return "kehu.AddCounters"; }
};

// The customer id that timeline and dedup keys start with (len(id) id, see
// store_schema.h).
class CustomerIdPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "kehu.CustomerIdPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), PrefixLength(key));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return !key.empty() && key.size() >= PrefixLength(key);
  }

 private:
  static size_t PrefixLength(const rocksdb::Slice& key) {
    return 1 + static_cast<uint8_t>(key[0]);
  }
};

// The families a bulk load (ProjectionStoreOptions::bulk_load) writes
// without reading them back.
bool IsAppendedInBulk(Family family) {
  switch (family) {
    case Family::kCustomers:
    case Family::kTimeline:
    case Family::kIndexes:
    case Family::kDedup:
    case Family::kDeadLetter:
    case Family::kSegments:  // a replay's population step reads no standing
      return true;
    case Family::kOffsets:  // read to check that the store is fresh
    case Family::kMeta:     // read for the population
      return false;
  }
  return false;
}

// The families only ever read by iterating a range (a customer's timeline,
// a metric's index): a bloom filter over their keys, which answers point
// reads only, would cost its hashing and space for nothing.
bool IsOnlyScanned(Family family) {
  return family == Family::kTimeline || family == Family::kIndexes;
}

// The column families of a store, with the options both Open() and
// OpenReadOnly() need (the segments family cannot be read without its
// merge operator).
std::vector<rocksdb::ColumnFamilyDescriptor> FamilyDescriptors(
    size_t block_cache_bytes, bool bulk_load = false) {
  rocksdb::BlockBasedTableOptions unfiltered;
  unfiltered.block_cache = rocksdb::NewLRUCache(block_cache_bytes);
  rocksdb::BlockBasedTableOptions filtered = unfiltered;
  filtered.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(filtered));
  cf_options.compression = rocksdb::kLZ4Compression;
  const std::shared_ptr<rocksdb::TableFactory> scanned_table(
      rocksdb::NewBlockBasedTableFactory(unfiltered));

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (int i = 0; i < schema::kFamilyCount; ++i) {
    rocksdb::ColumnFamilyOptions family_options = cf_options;
    if (IsOnlyScanned(static_cast<Family>(i))) {
      family_options.table_factory = scanned_table;
    }
    const bool appended = bulk_load && IsAppendedInBulk(static_cast<Family>(i));
    if (!appended && (static_cast<Family>(i) == Family::kDedup ||
                      static_cast<Family>(i) == Family::kCustomers ||
                      static_cast<Family>(i) == Family::kSegments)) {
      // Mostly point reads of keys not written yet (an event's dedup row,
      // a new customer's state and standing): a bloom filter over the
      // memtable's keys answers them without searching its skip list.
      family_options.memtable_prefix_bloom_size_ratio = 0.02;
      family_options.memtable_whole_key_filtering = true;
    }
    if (appended) {
      family_options.memtable_factory =
          std::make_shared<rocksdb::VectorRepFactory>();
      family_options.max_write_buffer_number = 4;
      // Level-0 files of a bulk load are soon merged into level 1 by a
      // compaction: compressing them costs more CPU than it saves.
      family_options.compression = rocksdb::kNoCompression;
      family_options.bottommost_compression = rocksdb::kLZ4Compression;
    } else if (static_cast<Family>(i) == Family::kTimeline ||
               static_cast<Family>(i) == Family::kDedup) {
      // A customer's next timeline and dedup rows go next to their last
      // ones: the memtable keeps, per customer, where it inserted last and
      // starts there instead of at the top of its skip list.
      family_options.memtable_insert_with_hint_prefix_extractor =
          std::make_shared<CustomerIdPrefix>();
    }
    if (static_cast<Family>(i) == Family::kSegments) {
      family_options.merge_operator = std::make_shared<AddCounters>();
      // A hot counter (a tier, a month) gets a merge with every batch; past
      // this many in the memtable the write folds them into one, so a read
      // never has to add up thousands. Folding reads the memtable, which a
      // bulk load's cannot do quickly, and a bulk load merges each counter
      // a few times only.
      if (!appended) family_options.max_successive_merges = 32;
    }
    descriptors.emplace_back(schema::FamilyName(static_cast<Family>(i)),
                             family_options);
  }
  return descriptors;
}

// The operations of a WriteBatch, pointing into its bytes.
class BatchOps final : public rocksdb::WriteBatch::Handler {
 public:
  enum class Type { kPut, kDelete, kMerge };
  struct Op {
    uint32_t family;
    Type type;
    rocksdb::Slice key;
    rocksdb::Slice value;
  };

  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    ops_.push_back({family, Type::kPut, key, value});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t family,
                           const rocksdb::Slice& key) override {
    ops_.push_back({family, Type::kDelete, key, {}});
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t family, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    ops_.push_back({family, Type::kMerge, key, value});
    return rocksdb::Status::OK();
  }
  // Anything else (single deletes, range deletes, log data...) is left to
  // RocksDB in the batch's own order.
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::NotSupported();
  }
  void LogData(const rocksdb::Slice&) override { other_ = true; }
  bool Continue() override { return !other_; }

  bool other() const { return other_; }
  std::vector<Op>* ops() { return &ops_; }

 private:
  std::vector<Op> ops_;
  bool other_ = false;
};

// `batch` with its operations in (column family, key) order, operations on
// one key in their original order, so that it has the same effect.
// RocksDB's memtable inserts a key next to the one inserted before it in a
// few steps, at a random place only after a search from the top of its
// skip list, and a fold's batch holds rows of many customers in no order.
// nullopt when the batch holds an operation that is not a put, delete or
// merge.
std::optional<rocksdb::WriteBatch> SortedByKey(
    const rocksdb::WriteBatch& batch,
    const std::vector<rocksdb::ColumnFamilyHandle*>& families) {
  BatchOps collect;
  if (!batch.Iterate(&collect).ok() || collect.other()) return std::nullopt;
  std::vector<BatchOps::Op>& ops = *collect.ops();
  std::stable_sort(ops.begin(), ops.end(),
                   [](const BatchOps::Op& a, const BatchOps::Op& b) {
                     if (a.family != b.family) return a.family < b.family;
                     return a.key.compare(b.key) < 0;
                   });
  rocksdb::WriteBatch sorted(batch.GetDataSize());
  for (const BatchOps::Op& op : ops) {
    rocksdb::ColumnFamilyHandle* family = nullptr;
    for (rocksdb::ColumnFamilyHandle* f : families) {
      if (f->GetID() == op.family) family = f;
    }
    if (family == nullptr) return std::nullopt;
    rocksdb::Status s;
    switch (op.type) {
      case BatchOps::Type::kPut:
        s = sorted.Put(family, op.key, op.value);
        break;
      case BatchOps::Type::kDelete:
        s = sorted.Delete(family, op.key);
        break;
      case BatchOps::Type::kMerge:
        s = sorted.Merge(family, op.key, op.value);
        break;
    }
    if (!s.ok()) return std::nullopt;
  }
  return sorted;
}

// FAILED_PRECONDITION when the store in `dir` carries the mark of a replay
// that has not finished.
absl::Status CheckNoReplayInProgress(rocksdb::DB* db,
                                     rocksdb::ColumnFamilyHandle* meta,
                                     const std::string& dir) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta,
                              schema::kMetaReplayInProgress, &value);
  if (s.IsNotFound()) return absl::OkStatus();
  KEHU_RETURN_IF_ERROR(FromRocks(s, "reading the replay mark"));
  return absl::FailedPreconditionError(absl::StrCat(
      "projection store ", dir,
      " is being built by a replay, or its replay did not finish (stopped or "
      "crashed); wait for the replay, or remove the directory and replay "
      "again"));
}

// A store written with another layout (store_schema.h) is refused: read
// with this one it would answer wrongly.
absl::Status CheckSchemaVersion(const std::string& version,
                                const std::string& dir) {
  if (version == schema::kSchemaVersion) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "projection store ", dir, " has schema version ", version,
      ", this kehu reads and writes version ", schema::kSchemaVersion,
      "; rebuild it from the log into a fresh directory "
      "(kehu replay)"));
}

// The row `key` of the `meta` family of the existing store in `dir`, read
// with only that family open (read-only mode may open a subset of the
// column families), so that it stays cheap beside a large write-ahead log
// and needs none of the other families' options. nullopt when the row is
// missing; NOT_FOUND when `dir` holds no store.
absl::StatusOr<std::optional<std::string>> ReadMetaRow(const std::string& dir,
                                                       const char* key) {
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/CURRENT", ec)) {
    return absl::NotFoundError(absl::StrCat("no projection store in ", dir));
  }
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {schema::FamilyName(Family::kMeta), rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  KEHU_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir,
                                             descriptors, &handles, &raw),
                absl::StrCat("opening projection store ", dir, " read-only")));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  const rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), handles[1], key, &value);
  for (auto* handle : handles) {
    db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  if (s.IsNotFound()) return std::nullopt;
  KEHU_RETURN_IF_ERROR(
      FromRocks(s, absl::StrCat("reading the meta row ", key, " of ", dir)));
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProjectionStore>> ProjectionStore::Open(
    const std::string& dir, const ProjectionStoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create projection store directory ", dir, ": ", ec.message()));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.db_write_buffer_size = options.memtable_bytes;

  if (options.bulk_load) {
    db_options.allow_concurrent_memtable_write = false;
    db_options.max_background_flushes = 2;
    db_options.max_background_compactions = 1;
  }
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors =
      FamilyDescriptors(options.block_cache_bytes, options.bulk_load);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  KEHU_RETURN_IF_ERROR(
      FromRocks(s, absl::StrCat("opening projection store ", dir)));

  auto store = std::unique_ptr<ProjectionStore>(new ProjectionStore());
  store->db_.reset(raw);
  // handles[0] is the default family, which kehu does not use.
  store->families_.assign(handles.begin() + 1, handles.end());
  raw->DestroyColumnFamilyHandle(handles[0]).PermitUncheckedError();
  store->write_options_.disableWAL = options.bulk_load;
  store->sort_writes_ = !options.bulk_load;

  // The meta rows pin what the store was built with.
  rocksdb::ColumnFamilyHandle* meta = store->family(Family::kMeta);
  std::string version;
  s = raw->Get(rocksdb::ReadOptions(), meta, schema::kMetaSchemaVersion,
               &version);
  if (s.IsNotFound()) {
    rocksdb::WriteBatch init;
    init.Put(meta, schema::kMetaSchemaVersion, schema::kSchemaVersion);
    init.Put(meta, schema::kMetaReportingCurrency, options.reporting_currency);
    KEHU_RETURN_IF_ERROR(FromRocks(raw->Write(rocksdb::WriteOptions(), &init),
                                   "initialising projection store"));
    store->reporting_currency_ = options.reporting_currency;
    store->population_ = std::make_shared<store::v1::PopulationModel>();
    return store;
  }
  KEHU_RETURN_IF_ERROR(FromRocks(s, "reading projection store schema version"));
  KEHU_RETURN_IF_ERROR(CheckSchemaVersion(version, dir));
  KEHU_RETURN_IF_ERROR(CheckNoReplayInProgress(raw, meta, dir));
  KEHU_RETURN_IF_ERROR(FromRocks(
      raw->Get(rocksdb::ReadOptions(), meta, schema::kMetaReportingCurrency,
               &store->reporting_currency_),
      "reading projection store reporting currency"));
  if (store->reporting_currency_ != options.reporting_currency) {
    return absl::FailedPreconditionError(absl::StrCat(
        "projection store ", dir, " ranks money in ",
        store->reporting_currency_, ", configured reporting currency is ",
        options.reporting_currency,
        "; rebuild the store from the log to change it"));
  }
  KEHU_ASSIGN_OR_RETURN(auto population, store->ReadPopulation());
  store->population_ = std::make_shared<store::v1::PopulationModel>(
      population.value_or(store::v1::PopulationModel()));
  return store;
}

absl::StatusOr<std::unique_ptr<ProjectionStore>> ProjectionStore::OpenReadOnly(
    const std::string& dir, size_t block_cache_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/CURRENT", ec)) {
    return absl::NotFoundError(absl::StrCat("no projection store in ", dir));
  }
  rocksdb::DBOptions db_options;
  // Every table file is opened now, so that a process writing the store
  // meanwhile may compact files away without breaking later reads.
  db_options.max_open_files = -1;
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors =
      FamilyDescriptors(block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_options, dir, descriptors,
                                                   &handles, &raw);
  KEHU_RETURN_IF_ERROR(FromRocks(
      s, absl::StrCat("opening projection store ", dir, " read-only")));

  auto store = std::unique_ptr<ProjectionStore>(new ProjectionStore());
  store->db_.reset(raw);
  store->families_.assign(handles.begin() + 1, handles.end());
  raw->DestroyColumnFamilyHandle(handles[0]).PermitUncheckedError();
  KEHU_RETURN_IF_ERROR(
      CheckNoReplayInProgress(raw, store->family(Family::kMeta), dir));
  std::string version;
  s = raw->Get(rocksdb::ReadOptions(), store->family(Family::kMeta),
               schema::kMetaSchemaVersion, &version);
  KEHU_RETURN_IF_ERROR(FromRocks(s, "reading projection store schema version"));
  KEHU_RETURN_IF_ERROR(CheckSchemaVersion(version, dir));
  s = raw->Get(rocksdb::ReadOptions(), store->family(Family::kMeta),
               schema::kMetaReportingCurrency, &store->reporting_currency_);
  if (!s.IsNotFound()) {
    KEHU_RETURN_IF_ERROR(
        FromRocks(s, "reading projection store reporting currency"));
  }
  KEHU_ASSIGN_OR_RETURN(auto population, store->ReadPopulation());
  store->population_ = std::make_shared<store::v1::PopulationModel>(
      population.value_or(store::v1::PopulationModel()));
  return store;
}

absl::StatusOr<std::string> ProjectionStore::ReadReportingCurrency(
    const std::string& dir) {
  KEHU_ASSIGN_OR_RETURN(std::optional<std::string> currency,
                        ReadMetaRow(dir, schema::kMetaReportingCurrency));
  if (!currency.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("projection store ", dir, " has no reporting currency"));
  }
  return *std::move(currency);
}

absl::StatusOr<std::optional<store::v1::PopulationModel>>
ProjectionStore::ReadPopulationOf(const std::string& dir) {
  KEHU_ASSIGN_OR_RETURN(std::optional<std::string> row,
                        ReadMetaRow(dir, schema::kMetaPopulation));
  if (!row.has_value()) return std::nullopt;
  store::v1::PopulationModel population;
  if (!population.ParseFromString(*row)) {
    return absl::DataLossError(
        absl::StrCat("the population row of ", dir, " does not parse"));
  }
  return population;
}

ProjectionStore::~ProjectionStore() {
  if (db_ == nullptr) return;
  for (auto* handle : families_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::optional<store::v1::CustomerState>>
ProjectionStore::GetCustomer(std::string_view customer_id,
                             const rocksdb::Snapshot* snapshot) const {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  std::string value;
  rocksdb::Status s = db_->Get(read, family(Family::kCustomers),
                               schema::CustomerKey(customer_id), &value);
  if (s.IsNotFound()) return std::nullopt;
  KEHU_RETURN_IF_ERROR(FromRocks(s, "reading customer"));
  store::v1::CustomerState state;
  if (!state.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat(
        "customer row of ", std::string(customer_id), " does not parse"));
  }
  return state;
}

absl::StatusOr<store::v1::PartitionProgress> ProjectionStore::GetProgress(
    int32_t partition) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family(Family::kOffsets),
                               schema::PartitionKey(partition), &value);
  store::v1::PartitionProgress progress;
  if (s.IsNotFound()) return progress;
  KEHU_RETURN_IF_ERROR(FromRocks(s, "reading partition progress"));
  if (!progress.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("progress row of partition ",
                                            partition, " does not parse"));
  }
  return progress;
}

absl::StatusOr<std::optional<store::v1::PopulationModel>>
ProjectionStore::GetPopulation() const {
  auto population = this->population();
  if (population->as_of_us() == 0) return std::nullopt;
  return *population;
}

std::shared_ptr<const store::v1::PopulationModel> ProjectionStore::population()
    const {
  absl::MutexLock lock(&population_mu_);
  return population_;
}

absl::StatusOr<std::optional<store::v1::PopulationModel>>
ProjectionStore::ReadPopulation() const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family(Family::kMeta),
                               schema::kMetaPopulation, &value);
  if (s.IsNotFound()) return std::nullopt;
  KEHU_RETURN_IF_ERROR(FromRocks(s, "reading the population row"));
  store::v1::PopulationModel population;
  if (!population.ParseFromString(value)) {
    return absl::DataLossError("the population row does not parse");
  }
  return population;
}

absl::Status ProjectionStore::PutPopulation(
    const store::v1::PopulationModel& population) {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  KEHU_RETURN_IF_ERROR(FromRocks(
      db_->Put(sync, family(Family::kMeta), schema::kMetaPopulation,
               population.SerializeAsString()),
      "writing the population row"));
  absl::MutexLock lock(&population_mu_);
  population_ = std::make_shared<store::v1::PopulationModel>(population);
  return absl::OkStatus();
}

absl::Status ProjectionStore::Write(rocksdb::WriteBatch* batch) {
  std::optional<rocksdb::WriteBatch> sorted;
  if (sort_writes_) sorted = SortedByKey(*batch, families_);
  return FromRocks(
      db_->Write(write_options_, sorted.has_value() ? &*sorted : batch),
      "writing to projection store");
}

absl::Status ProjectionStore::Flush() {
  KEHU_RETURN_IF_ERROR(
      FromRocks(db_->FlushWAL(/*sync=*/true), "syncing projection store WAL"));
  // Memtables to table files too, so that the next open does not replay a
  // large write-ahead log.
  return FromRocks(db_->Flush(rocksdb::FlushOptions(), families_),
                   "flushing projection store memtables");
}

}  // namespace kehu::infra
