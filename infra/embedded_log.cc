#include "infra/embedded_log.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "infra/check.h"
#include "infra/murmur2.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/write_batch.h"

namespace kehu::infra {
namespace {

constexpr char kMetaFamily[] = "meta";
constexpr char kPartitionCountKey[] = "partition_count";
constexpr size_t kRecordKeySize = 4 + 8;

void PutBigEndian(uint64_t value, int bytes, std::string* out) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint64_t GetBigEndian(const char* data, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value = (value << 8) | static_cast<unsigned char>(data[i]);
  }
  return value;
}

// Partitions are non-negative, so as unsigned big-endian numbers the keys
// sort by partition, then offset.
std::string RecordKey(int32_t partition, int64_t offset) {
  std::string key;
  key.reserve(kRecordKeySize);
  PutBigEndian(static_cast<uint32_t>(partition), 4, &key);
  PutBigEndian(static_cast<uint64_t>(offset), 8, &key);
  return key;
}

bool ParseRecordKey(const rocksdb::Slice& key, int32_t* partition,
                    int64_t* offset) {
  if (key.size() != kRecordKeySize) return false;
  const uint64_t p = GetBigEndian(key.data(), 4);
  const uint64_t o = GetBigEndian(key.data() + 4, 8);
  if (p > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) ||
      o > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return false;
  }
  *partition = static_cast<int32_t>(p);
  *offset = static_cast<int64_t>(o);
  return true;
}

// Value = varint32(key size) + key + value.
void EncodeRecordValue(const LogAppend& record, std::string* out) {
  out->clear();
  uint32_t n = static_cast<uint32_t>(record.key.size());
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
  out->append(record.key);
  out->append(record.value);
}

// Sets `key` and `value` to the parts of `encoded`.
bool DecodeRecordValue(const rocksdb::Slice& encoded, std::string_view* key,
                       std::string_view* value) {
  std::string_view in(encoded.data(), encoded.size());
  uint32_t key_size = 0;
  for (int shift = 0;; shift += 7) {
    if (in.empty() || shift > 28) return false;
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    key_size |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (key_size > in.size()) return false;
  *key = in.substr(0, key_size);
  *value = in.substr(key_size);
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddedLog>> EmbeddedLog::Open(
    const std::string& dir, const EmbeddedLogOptions& options) {
  if (options.partitions <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedded log ", dir, ": partitions must be > 0, not ",
                     options.partitions));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    // ec is an errno value on POSIX; ErrnoToStatus adds strerror().
    return absl::ErrnoToStatus(
        ec.value(), absl::StrCat("embedded log: cannot create directory ", dir,
                                 " (does a parent exist and is it a "
                                 "writable directory?)"));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  if (options.env != nullptr) db_options.env = options.env;
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kMetaFamily, rocksdb::ColumnFamilyOptions()},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, families, &handles, &raw_db);
  if (!s.ok()) {
    return FromRocks(s, absl::StrCat("embedded log: opening ", dir));
  }
  KEHU_CHECK(handles.size() == families.size());
  // From here the log owns the DB and the handles, so every error path
  // below closes them in ~EmbeddedLog().
  std::unique_ptr<EmbeddedLog> log(
      new EmbeddedLog(dir, options, std::unique_ptr<rocksdb::DB>(raw_db),
                      handles[0], handles[1]));
  KEHU_RETURN_IF_ERROR(log->Recover());
  return log;
}

EmbeddedLog::EmbeddedLog(const std::string& dir,
                         const EmbeddedLogOptions& options,
                         std::unique_ptr<rocksdb::DB> db,
                         rocksdb::ColumnFamilyHandle* records,
                         rocksdb::ColumnFamilyHandle* meta)
    : dir_(dir),
      options_(options),
      db_(std::move(db)),
      records_(records),
      meta_(meta) {}

EmbeddedLog::~EmbeddedLog() {
  // Handles must go before the DB. Destroying a handle only frees memory;
  // its status cannot fail in a way we could act on.
  db_->DestroyColumnFamilyHandle(meta_).PermitUncheckedError();
  db_->DestroyColumnFamilyHandle(records_).PermitUncheckedError();
  // Every acknowledged append is already synced, so a failed close loses
  // nothing acknowledged; say so and carry on.
  rocksdb::Status s = db_->Close();
  if (!s.ok()) {
    std::fprintf(stderr, "kehu: embedded log %s: close: %s\n", dir_.c_str(),
                 s.ToString().c_str());
  }
}

absl::Status EmbeddedLog::Recover() {
  std::string stored;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), meta_, kPartitionCountKey, &stored);
  if (s.IsNotFound()) {
    // A new log. The count fixes where every key goes, so it is synced even
    // when appends are not.
    std::string encoded;
    PutBigEndian(static_cast<uint32_t>(options_.partitions), 4, &encoded);
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    KEHU_RETURN_IF_ERROR(FromRocks(
        db_->Put(write_options, meta_, kPartitionCountKey, encoded),
        absl::StrCat("embedded log ", dir_, ": storing the partition count")));
    partition_count_ = options_.partitions;
  } else if (!s.ok()) {
    return FromRocks(s, absl::StrCat("embedded log ", dir_,
                                     ": reading the partition count"));
  } else {
    const uint64_t count =
        stored.size() == 4 ? GetBigEndian(stored.data(), 4) : 0;
    if (count == 0 ||
        count > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
      return absl::DataLossError(absl::StrCat(
          "embedded log ", dir_, ": stored partition count is malformed (",
          stored.size(), " bytes)"));
    }
    partition_count_ = static_cast<int32_t>(count);
  }

  // Each partition's end is one past its last key: SeekForPrev to the
  // largest possible key of the partition lands on it.
  std::vector<int64_t> ends(partition_count_, 0);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), records_));
  for (int32_t p = 0; p < partition_count_; ++p) {
    it->SeekForPrev(RecordKey(p, std::numeric_limits<int64_t>::max()));
    if (!it->Valid()) {
      KEHU_RETURN_IF_ERROR(FromRocks(
          it->status(),
          absl::StrCat("embedded log ", dir_, ": recovering partition ", p)));
      continue;  // Nothing at or before this partition.
    }
    int32_t partition = 0;
    int64_t offset = 0;
    if (!ParseRecordKey(it->key(), &partition, &offset)) {
      return absl::DataLossError(
          absl::StrCat("embedded log ", dir_, ": malformed record key of ",
                       it->key().size(), " bytes near partition ", p));
    }
    if (partition == p) ends[p] = offset + 1;
  }
  KEHU_RETURN_IF_ERROR(FromRocks(
      it->status(), absl::StrCat("embedded log ", dir_, ": recovering")));

  absl::MutexLock lock(&mu_);
  end_offsets_ = std::move(ends);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LogPosition>> EmbeddedLog::Append(
    absl::Span<const LogAppend> records) {
  // Hash outside the lock: it is the only per-record work that can be done
  // in parallel.
  Writer w;
  w.records = records;
  w.partitions.reserve(records.size());
  for (const LogAppend& record : records) {
    if (record.key.size() > std::numeric_limits<uint32_t>::max()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "embedded log: key of ", record.key.size(), " bytes is too long"));
    }
    w.partitions.push_back(PartitionForKey(record.key, partition_count_));
    w.bytes += record.key.size() + record.value.size();
  }

  absl::MutexLock lock(&mu_);
  if (shutdown_) {
    return absl::CancelledError(
        absl::StrCat("embedded log ", dir_, ": append after shutdown"));
  }
  if (records.empty()) return std::vector<LogPosition>();
  writers_.push_back(&w);
  ++stats_.pending_appends;
  auto done_or_leading = [this, &w]() {
    mu_.AssertReaderHeld();
    return w.done || writers_.front() == &w;
  };
  mu_.Await(absl::Condition(&done_or_leading));
  if (!w.done) CommitGroup(&w);
  KEHU_CHECK(w.done);
  if (!w.status.ok()) return w.status;
  return std::move(w.positions);
}

void EmbeddedLog::CommitGroup(Writer* leader) {
  KEHU_CHECK(!writers_.empty() && writers_.front() == leader);

  // The leader always goes; then queued appends while they fit.
  std::vector<Writer*> group;
  size_t group_bytes = 0;
  size_t group_records = 0;
  for (Writer* w : writers_) {
    if (!group.empty() && group_bytes + w->bytes > options_.max_group_bytes) {
      break;
    }
    group.push_back(w);
    group_bytes += w->bytes;
    group_records += w->records.size();
  }

  // Only a leader assigns offsets and a group that fails publishes nothing,
  // so the published ends are also the next free offsets on disk: a failed
  // group's offsets are handed out again to the next one.
  std::vector<int64_t> next = end_offsets_;
  for (Writer* w : group) {
    w->positions.clear();
    w->positions.reserve(w->records.size());
    for (int32_t partition : w->partitions) {
      w->positions.push_back(LogPosition{partition, next[partition]++});
    }
  }

  // The group's writers are blocked in Append() until `done`, so their
  // records and positions stay put while the lock is released for the I/O.
  mu_.Unlock();
  rocksdb::WriteBatch batch;
  absl::Status status;
  std::string value;
  for (Writer* w : group) {
    for (size_t i = 0; i < w->records.size() && status.ok(); ++i) {
      const LogPosition& pos = w->positions[i];
      EncodeRecordValue(w->records[i], &value);
      status = FromRocks(
          batch.Put(records_, RecordKey(pos.partition, pos.offset), value),
          "embedded log: batching a record");
    }
  }
  if (status.ok()) {
    rocksdb::WriteOptions write_options;
    write_options.sync = options_.sync;
    status = FromRocks(db_->Write(write_options, &batch),
                       absl::StrCat("embedded log ", dir_, ": writing ",
                                    group_records, " records"));
  }
  mu_.Lock();

  ++stats_.group_commits;
  if (options_.sync) ++stats_.syncs;
  if (status.ok()) {
    end_offsets_ = std::move(next);
    stats_.appends += group.size();
    stats_.records += group_records;
  }
  for (Writer* w : group) {
    KEHU_CHECK(writers_.front() == w);
    writers_.pop_front();
    if (!status.ok()) w->positions.clear();
    w->status = status;
    w->done = true;
    --stats_.pending_appends;
  }
  // Unlocking (in Append) re-evaluates the waiters' conditions: the group's
  // writers return, the new front leads, readers in WaitForData() see data.
}

absl::Status EmbeddedLog::Read(int32_t partition, int64_t offset,
                               size_t max_records,
                               std::vector<LogRecord>* out) {
  std::vector<LogRecord> records;
  KEHU_RETURN_IF_ERROR(Scan(
      partition, offset, max_records, [&records](const LogRecordView& record) {
        records.push_back(LogRecord{record.partition, record.offset,
                                    std::string(record.key),
                                    std::string(record.value)});
        return absl::OkStatus();
      }));
  out->insert(out->end(), std::make_move_iterator(records.begin()),
              std::make_move_iterator(records.end()));
  return absl::OkStatus();
}

absl::Status EmbeddedLog::Scan(
    int32_t partition, int64_t offset, size_t max_records,
    absl::FunctionRef<absl::Status(const LogRecordView&)> visit) {
  if (partition < 0 || partition >= partition_count_) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedded log: partition ", partition,
                     " out of range [0, ", partition_count_, ")"));
  }
  if (offset < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedded log: negative offset ", offset));
  }
  int64_t end = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    end = end_offsets_[partition];
  }
  if (offset >= end || max_records == 0) return absl::OkStatus();
  // Never past the published end: later keys may be a group in flight.
  const uint64_t count =
      std::min<uint64_t>(static_cast<uint64_t>(end - offset), max_records);
  const int64_t limit = offset + static_cast<int64_t>(count);

  const std::string upper = RecordKey(partition, limit);
  const rocksdb::Slice upper_bound(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read_options, records_));

  int64_t expected = offset;
  for (it->Seek(RecordKey(partition, offset)); it->Valid(); it->Next()) {
    int32_t record_partition;
    int64_t record_offset;
    if (!ParseRecordKey(it->key(), &record_partition, &record_offset) ||
        record_partition != partition || record_offset != expected) {
      return absl::DataLossError(absl::StrCat(
          "embedded log ", dir_, ": partition ", partition,
          ": unexpected key where offset ", expected, " should be"));
    }
    std::string_view key;
    std::string_view value;
    if (!DecodeRecordValue(it->value(), &key, &value)) {
      return absl::DataLossError(
          absl::StrCat("embedded log ", dir_, ": partition ", partition,
                       ": malformed record at offset ", expected));
    }
    KEHU_RETURN_IF_ERROR(visit(LogRecordView(partition, expected, key, value)));
    ++expected;
  }
  // Valid() == false is an error or the end of the range; tell them apart.
  KEHU_RETURN_IF_ERROR(FromRocks(
      it->status(),
      absl::StrCat("embedded log ", dir_, ": reading partition ", partition)));
  if (expected != limit) {
    return absl::DataLossError(absl::StrCat(
        "embedded log ", dir_, ": partition ", partition,
        ": acknowledged records [", expected, ", ", limit, ") are missing"));
  }
  return absl::OkStatus();
}

int64_t EmbeddedLog::EndOffset(int32_t partition) const {
  KEHU_CHECK(partition >= 0 && partition < partition_count_);
  absl::ReaderMutexLock lock(&mu_);
  return end_offsets_[partition];
}

bool EmbeddedLog::WaitForData(int32_t partition, int64_t offset,
                              absl::Time deadline) {
  KEHU_CHECK(partition >= 0 && partition < partition_count_);
  absl::MutexLock lock(&mu_);
  auto ready = [this, partition, offset]() {
    mu_.AssertReaderHeld();
    return shutdown_ || end_offsets_[partition] > offset;
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  return end_offsets_[partition] > offset;
}

void EmbeddedLog::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;  // Unlocking wakes every WaitForData().
}

EmbeddedLogStats EmbeddedLog::stats() const {
  absl::ReaderMutexLock lock(&mu_);
  return stats_;
}

}  // namespace kehu::infra
