// EmbeddedLog: the event log for one machine, a durable append-only
// partitioned log kept in its own RocksDB instance.
//
// Operation: a record lives at key = partition (4 bytes, big-endian) +
// offset (8 bytes, big-endian) in RocksDB's default column family, so a
// partition is one contiguous, offset-ordered key range; the value is the
// record's key (varint32 length + bytes) followed by its value. The
// partition count is stored in the `meta` column family when the log is
// created. Open() recovers each partition's end offset from its last key.
//
// Appends use group commit, as LevelDB's writer queue does: callers queue
// up; the caller at the front (the leader) takes the queued appends behind
// it, up to `max_group_bytes`, assigns their offsets, writes them as ONE
// rocksdb::WriteBatch with the WAL synced, then publishes the new end
// offsets and hands every caller in the group its positions. Many
// concurrent appends therefore share one fsync. Only the leader assigns
// offsets and only after a successful write are they published; when the
// write fails, every caller in the group gets the error and the next
// leader assigns the same offsets again, so the published end offsets
// never run ahead of, or leave a hole in, what is on disk.
//
// Concurrency: every method is thread-safe. One mutex guards the writer
// queue, the published end offsets and the counters; RocksDB I/O (the
// group write, Read()'s scan) runs outside it. Read() and WaitForData() see
// a record only once the Append() that wrote it is acknowledged.
//
// Limitations: one process per directory (RocksDB's LOCK file; a second
// Open() gets FAILED_PRECONDITION). Records are never deleted or compacted
// away: the log is the system of record. One Append() call is written
// atomically, however large; `max_group_bytes` only bounds how much other
// callers' data a leader adds to it. Shutdown() does not wait for appends
// already queued: they still complete, and the caller must let every call
// return before destroying the log. Delivery is at least once: when a WAL
// sync fails after RocksDB wrote the bytes, the append fails (and RocksDB
// refuses further writes until reopened), yet WAL recovery may bring those
// records back at the next Open(); callers that retry may thus log a record
// twice, which the projector absorbs by deduplicating event ids.
#ifndef KEHU_INFRA_EMBEDDED_LOG_H_
#define KEHU_INFRA_EMBEDDED_LOG_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "infra/event_log.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"

namespace kehu::infra {

struct EmbeddedLogOptions {
  // Number of partitions of a log created by Open(). An existing log keeps
  // the count it was created with, whatever is asked here; read it back
  // with EmbeddedLog::partition_count(). Must be > 0.
  int32_t partitions = 8;

  // If true, Append() returns only after RocksDB has fsynced the write-ahead
  // log holding the records, so an acknowledged record survives a power
  // loss. Only tests of other components may turn it off.
  bool sync = true;

  // Soft limit on the bytes (keys + values) one group commit writes: a
  // leader stops taking queued appends once the group would exceed it. An
  // append larger than the limit is still written, alone.
  size_t max_group_bytes = size_t{4} << 20;

  // The RocksDB environment for the log's files; nullptr means
  // rocksdb::Env::Default(). Tests pass one that injects slow or failing
  // syncs. If set, it must outlive the log.
  rocksdb::Env* env = nullptr;
};

// Counters since Open(), for metrics and tests.
struct EmbeddedLogStats {
  // Append() calls acknowledged (each with all of its records durable).
  uint64_t appends = 0;
  // Records acknowledged.
  uint64_t records = 0;
  // WriteBatches written, one per group commit (failed ones included).
  uint64_t group_commits = 0;
  // WAL syncs requested: group_commits when options.sync, else 0.
  uint64_t syncs = 0;
  // Append() calls queued or being written right now (a gauge).
  uint64_t pending_appends = 0;
};

class EmbeddedLog final : public EventLog {
 public:
  // Opens the log in `dir`, creating the directory and the log if missing.
  // Fails with a Status that names `dir` when it cannot be created or
  // written, when another EmbeddedLog (in this or another process) holds it,
  // or when `options` are invalid.
  static absl::StatusOr<std::unique_ptr<EmbeddedLog>> Open(
      const std::string& dir, const EmbeddedLogOptions& options);

  // REQUIRES: no call on this log is in progress or will follow.
  ~EmbeddedLog() override;

  EmbeddedLog(const EmbeddedLog&) = delete;
  EmbeddedLog& operator=(const EmbeddedLog&) = delete;

  // The count stored in the log when it was created.
  int32_t partition_count() const override { return partition_count_; }

  // Appends each record to partition PartitionForKey(key), as one group
  // commit shared with concurrent callers. Returns the positions in the
  // order given once they are durable (see EmbeddedLogOptions::sync); an
  // empty `records` returns an empty vector without writing. Fails with
  // CANCELLED after Shutdown(), INVALID_ARGUMENT for a key longer than
  // 4 GiB, or the storage error; on error no record of this call is
  // visible to readers.
  absl::StatusOr<std::vector<LogPosition>> Append(
      absl::Span<const LogAppend> records) override;

  // Appends to `out` the acknowledged records of `partition` from `offset`
  // on, at most `max_records`; none when `offset` is at or past the end.
  // Returns INVALID_ARGUMENT for a partition out of range or a negative
  // offset, DATA_LOSS when an acknowledged record is missing or malformed;
  // `out` is left untouched on error.
  absl::Status Read(int32_t partition, int64_t offset, size_t max_records,
                    std::vector<LogRecord>* out) override;

  // Read() without copies: each view points into RocksDB's block. Errors
  // as Read()'s, and those `visit` returns.
  absl::Status Scan(
      int32_t partition, int64_t offset, size_t max_records,
      absl::FunctionRef<absl::Status(const LogRecordView&)> visit) override;

  // The offset the next record appended to `partition` will get, i.e. the
  // number of acknowledged records in it.
  // REQUIRES: 0 <= partition < partition_count().
  int64_t EndOffset(int32_t partition) const override;

  // REQUIRES: 0 <= partition < partition_count().
  bool WaitForData(int32_t partition, int64_t offset,
                   absl::Time deadline) override;

  void Shutdown() override;

  // A snapshot of the counters.
  EmbeddedLogStats stats() const;

  // WAL syncs so far; with options.sync, one per group commit, so fewer
  // than the Append() calls when appends were grouped.
  uint64_t sync_count() const { return stats().syncs; }

 private:
  // One Append() call, queued in writers_. Lives on the caller's stack. The
  // first three fields are set before it is queued and never change; the
  // others are written by the leader of its group: `positions` while the
  // caller waits, `status` and `done` under mu_ to hand the result over.
  struct Writer {
    absl::Span<const LogAppend> records;
    std::vector<int32_t> partitions;  // PartitionForKey() of each record.
    size_t bytes = 0;                 // Sum of key and value sizes.
    std::vector<LogPosition> positions;
    absl::Status status;
    bool done = false;
  };

  EmbeddedLog(const std::string& dir, const EmbeddedLogOptions& options,
              std::unique_ptr<rocksdb::DB> db,
              rocksdb::ColumnFamilyHandle* records,
              rocksdb::ColumnFamilyHandle* meta);

  // Reads (or, in a new log, writes) the partition count and recovers the
  // end offsets. Called once by Open(), before the log is shared.
  absl::Status Recover();

  // Writes the group led by `leader`, the queue's front, and completes
  // every writer in it. Releases mu_ during the write.
  void CommitGroup(Writer* leader) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const EmbeddedLogOptions options_;
  // The column family handles are released before db_ is closed.
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* const records_;  // RocksDB's default family.
  rocksdb::ColumnFamilyHandle* const meta_;
  int32_t partition_count_ = 0;  // Set by Recover(), then constant.

  mutable absl::Mutex mu_;
  // Per partition: one past the last acknowledged offset.
  std::vector<int64_t> end_offsets_ ABSL_GUARDED_BY(mu_);
  // Append() calls in arrival order; the front one leads the next group.
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  EmbeddedLogStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_EMBEDDED_LOG_H_
