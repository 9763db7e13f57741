#include "infra/embedded_log.h"

#include <atomic>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/murmur2.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::infra {
namespace {

using ::testing::HasSubstr;

// Bounds every wait on another thread so a broken log fails the test
// instead of hanging it; never reached when the log works.
constexpr absl::Duration kPatience = absl::Seconds(60);

// A file system whose write-ahead-log syncs the test controls: while the
// gate is closed they block, so a test can hold a group commit in flight;
// with failures on they return an I/O error instead of syncing.
class GatedFileSystem : public rocksdb::FileSystemWrapper {
 public:
  GatedFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

  const char* Name() const override { return "GatedFileSystem"; }

  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* file,
      rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, file, dbg);
    // WAL files are <number>.log (the info log is "LOG").
    if (s.ok() && name.size() > 4 && name.substr(name.size() - 4) == ".log") {
      *file = std::make_unique<WalFile>(std::move(*file), this);
    }
    return s;
  }

  void CloseGate() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void OpenGate() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  void FailSyncs() {
    absl::MutexLock lock(&mu_);
    fail_ = true;
  }
  uint64_t wal_syncs() const {
    absl::MutexLock lock(&mu_);
    return wal_syncs_;
  }
  // Returns true once a WAL sync is blocked at the closed gate.
  bool AwaitBlockedSync() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&blocked_), kPatience);
  }

 private:
  class WalFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    WalFile(std::unique_ptr<rocksdb::FSWritableFile> file, GatedFileSystem* fs)
        : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = fs_->PassGate();
      return s.ok() ? target()->Sync(options, dbg) : s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      rocksdb::IOStatus s = fs_->PassGate();
      return s.ok() ? target()->Fsync(options, dbg) : s;
    }

   private:
    GatedFileSystem* const fs_;
  };

  rocksdb::IOStatus PassGate() {
    absl::MutexLock lock(&mu_);
    blocked_ = !open_;
    mu_.Await(absl::Condition(&open_));
    blocked_ = false;
    ++wal_syncs_;
    if (fail_) return rocksdb::IOStatus::IOError("injected WAL sync failure");
    return rocksdb::IOStatus::OK();
  }

  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t wal_syncs_ ABSL_GUARDED_BY(mu_) = 0;
};

// Threads that are joined on destruction, also when an ASSERT returns
// early; a gate it was given is opened first, so no thread stays blocked.
// Declare it after everything its threads use.
class Threads {
 public:
  explicit Threads(GatedFileSystem* gate = nullptr) : gate_(gate) {}
  ~Threads() { JoinAll(); }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;

  void Start(std::function<void()> fn) { threads_.emplace_back(std::move(fn)); }
  void JoinAll() {
    if (gate_ != nullptr) gate_->OpenGate();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  GatedFileSystem* const gate_;
  std::vector<std::thread> threads_;
};

// A log whose WAL syncs go through a GatedFileSystem.
struct GatedLog {
  std::shared_ptr<GatedFileSystem> fs = std::make_shared<GatedFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::unique_ptr<EmbeddedLog> log;  // Declared last: closed first.
};

absl::StatusOr<std::unique_ptr<GatedLog>> OpenGated(
    const std::string& dir, EmbeddedLogOptions options) {
  auto gated = std::make_unique<GatedLog>();
  options.env = gated->env.get();
  absl::StatusOr<std::unique_ptr<EmbeddedLog>> log =
      EmbeddedLog::Open(dir, options);
  if (!log.ok()) return log.status();
  gated->log = std::move(log).value();
  return gated;
}

std::vector<LogRecord> ReadAll(EmbeddedLog& log, int32_t partition) {
  std::vector<LogRecord> records;
  for (;;) {
    const size_t before = records.size();
    absl::Status s =
        log.Read(partition, static_cast<int64_t>(before), 64, &records);
    EXPECT_OK(s);
    if (!s.ok() || records.size() == before) return records;
  }
}

// Returns once `log` has `n` Append() calls queued or in flight. Spins (no
// sleep): the calls it waits for are already running in other threads.
bool AwaitPendingAppends(EmbeddedLog& log, uint64_t n) {
  const absl::Time deadline = absl::Now() + kPatience;
  while (log.stats().pending_appends < n) {
    if (absl::Now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

LogAppend Record(std::string key, std::string value) {
  return LogAppend{std::move(key), std::move(value)};
}

TEST(EmbeddedLogTest, AKeyGoesToThePartitionKafkasMurmur2Picks) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 7}));
  // librdkafka tests/0048-partitioner.c: toPositive(murmur2(key)) as the
  // Java client computes it, independently of infra/murmur2.cc.
  const std::vector<std::pair<std::string, uint32_t>> keys = {
      {"", 0x106e08d9u},
      {"23456", 0x058d780fu},
      {"this is another string with more length to it perhaps", 0x4f7703dau},
      {"hejsan", 0x5ec19395u},
  };
  for (const auto& [key, positive_hash] : keys) {
    const LogAppend record = Record(key, "v");
    ASSERT_OK_AND_ASSIGN(std::vector<LogPosition> positions,
                         log->Append({&record, 1}));
    ASSERT_EQ(positions.size(), 1u);
    EXPECT_EQ(positions[0].partition, static_cast<int32_t>(positive_hash % 7))
        << "key \"" << key << "\"";
  }
  // And for arbitrary customer ids, the partition infra/murmur2.h names.
  for (int i = 0; i < 50; ++i) {
    const LogAppend record = Record(absl::StrCat("customer-", i), "v");
    ASSERT_OK_AND_ASSIGN(std::vector<LogPosition> positions,
                         log->Append({&record, 1}));
    EXPECT_EQ(positions[0].partition, PartitionForKey(record.key, 7));
  }
}

TEST(EmbeddedLogTest, OffsetsArePerPartitionAndContiguousFromZero) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 4}));
  std::map<int32_t, int64_t> expected_next;
  for (int call = 0; call < 20; ++call) {
    std::vector<LogAppend> batch;
    for (int i = 0; i < 5; ++i) {
      batch.push_back(Record(absl::StrCat("c", call * 5 + i), "v"));
    }
    ASSERT_OK_AND_ASSIGN(std::vector<LogPosition> positions,
                         log->Append(batch));
    ASSERT_EQ(positions.size(), batch.size());
    for (const LogPosition& pos : positions) {
      EXPECT_EQ(pos.offset, expected_next[pos.partition]++);
    }
  }
  for (int32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(log->EndOffset(p), expected_next[p]) << "partition " << p;
  }
}

TEST(EmbeddedLogTest, AppendReturnsPositionsInTheOrderGivenAndReadFindsThem) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 3}));
  std::vector<LogAppend> batch;
  for (int i = 0; i < 30; ++i) {
    // Binary keys and values, some empty, survive the encoding.
    batch.push_back(
        Record(i == 0 ? "" : std::string("k\0", 2) + std::to_string(i),
               i % 7 == 0 ? "" : std::string(i, '\xff')));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<LogPosition> positions, log->Append(batch));
  ASSERT_EQ(positions.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(positions[i].partition, PartitionForKey(batch[i].key, 3));
    std::vector<LogRecord> read;
    ASSERT_OK(log->Read(positions[i].partition, positions[i].offset, 1, &read));
    ASSERT_EQ(read.size(), 1u);
    EXPECT_EQ(read[0].partition, positions[i].partition);
    EXPECT_EQ(read[0].offset, positions[i].offset);
    EXPECT_EQ(read[0].key, batch[i].key);
    EXPECT_EQ(read[0].value, batch[i].value);
  }
}

TEST(EmbeddedLogTest, ReadAppendsAtMostMaxRecordsAndNothingAtTheEnd) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 1}));
  std::vector<LogAppend> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Record("k", absl::StrCat(i)));
  ASSERT_OK(log->Append(batch));

  std::vector<LogRecord> out(1);  // Read appends; it does not clear.
  ASSERT_OK(log->Read(0, 3, 4, &out));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[1].offset, 3);
  EXPECT_EQ(out[1].value, "3");
  EXPECT_EQ(out[4].offset, 6);

  out.clear();
  ASSERT_OK(log->Read(0, 8, 100, &out));
  EXPECT_EQ(out.size(), 2u);
  out.clear();
  ASSERT_OK(log->Read(0, 10, 100, &out));
  EXPECT_TRUE(out.empty());
  ASSERT_OK(log->Read(0, 1000, 100, &out));
  EXPECT_TRUE(out.empty());
  ASSERT_OK(log->Read(0, 0, 0, &out));
  EXPECT_TRUE(out.empty());
}

TEST(EmbeddedLogTest, ScanVisitsWhatReadGivesAndStopsAtTheVisitorsError) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 1}));
  std::vector<LogAppend> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(Record(absl::StrCat("key-", i), absl::StrCat("value-", i)));
  }
  ASSERT_OK(log->Append(batch));

  std::vector<LogRecord> read;
  ASSERT_OK(log->Read(0, 2, 5, &read));
  std::vector<LogRecord> scanned;
  ASSERT_OK(log->Scan(0, 2, 5, [&](const LogRecordView& record) {
    scanned.push_back({record.partition, record.offset, std::string(record.key),
                       std::string(record.value)});
    return absl::OkStatus();
  }));
  ASSERT_EQ(scanned.size(), read.size());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(scanned[i].partition, read[i].partition);
    EXPECT_EQ(scanned[i].offset, read[i].offset);
    EXPECT_EQ(scanned[i].key, read[i].key);
    EXPECT_EQ(scanned[i].value, read[i].value);
  }

  int visited = 0;
  const absl::Status stopped =
      log->Scan(0, 0, 10, [&](const LogRecordView& record) {
        ++visited;
        return record.offset == 3 ? absl::AbortedError("enough")
                                  : absl::OkStatus();
      });
  EXPECT_EQ(stopped.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(visited, 4);
  EXPECT_EQ(
      log->Scan(2, 0, 10, [](const LogRecordView&) { return absl::OkStatus(); })
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(EmbeddedLogTest, ReadRejectsAPartitionOutOfRangeOrANegativeOffset) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 2}));
  std::vector<LogRecord> out;
  EXPECT_EQ(log->Read(2, 0, 10, &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Read(-1, 0, 10, &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Read(0, -1, 10, &out).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EmbeddedLogTest, AnEmptyAppendWritesNothing) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log, EmbeddedLog::Open(dir.Sub("log"), {}));
  ASSERT_OK_AND_ASSIGN(std::vector<LogPosition> positions, log->Append({}));
  EXPECT_TRUE(positions.empty());
  EXPECT_EQ(log->stats().group_commits, 0u);
}

TEST(EmbeddedLogTest, ConcurrentAppendsAreEachReadableOnceAtTheirPosition) {
  testing::TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 200;
  constexpr int32_t kPartitions = 4;
  ASSERT_OK_AND_ASSIGN(
      auto log, EmbeddedLog::Open(dir.Sub("log"), {.partitions = kPartitions}));

  // Every record is unique: value = "t<thread>-<i>".
  std::vector<std::vector<std::pair<LogAppend, LogPosition>>> written(kThreads);
  std::vector<absl::Status> errors(kThreads);
  Threads threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.Start([&, t] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        const LogAppend record =
            Record(absl::StrCat("customer-", (t * 31 + i) % 97),
                   absl::StrCat("t", t, "-", i));
        absl::StatusOr<std::vector<LogPosition>> positions =
            log->Append({&record, 1});
        if (!positions.ok() || positions->size() != 1) {
          errors[t] = positions.ok() ? absl::InternalError("wrong size")
                                     : positions.status();
          return;
        }
        written[t].emplace_back(record, (*positions)[0]);
      }
    });
  }
  threads.JoinAll();
  for (const absl::Status& s : errors) ASSERT_OK(s);

  std::map<int32_t, std::vector<LogRecord>> by_partition;
  int64_t total = 0;
  for (int32_t p = 0; p < kPartitions; ++p) {
    by_partition[p] = ReadAll(*log, p);
    EXPECT_EQ(log->EndOffset(p), static_cast<int64_t>(by_partition[p].size()));
    for (size_t i = 0; i < by_partition[p].size(); ++i) {
      EXPECT_EQ(by_partition[p][i].offset, static_cast<int64_t>(i));
    }
    total += static_cast<int64_t>(by_partition[p].size());
  }
  EXPECT_EQ(total, kThreads * kAppendsPerThread);

  // Each acknowledged record is exactly where Append() said, and no two
  // appends got the same position (with `total` above: nothing extra).
  std::set<std::pair<int32_t, int64_t>> seen;
  for (const auto& per_thread : written) {
    for (const auto& [record, pos] : per_thread) {
      ASSERT_LT(pos.offset,
                static_cast<int64_t>(by_partition[pos.partition].size()));
      const LogRecord& read = by_partition[pos.partition][pos.offset];
      EXPECT_EQ(read.key, record.key);
      EXPECT_EQ(read.value, record.value);
      EXPECT_TRUE(seen.insert({pos.partition, pos.offset}).second)
          << "position handed out twice";
    }
  }

  const EmbeddedLogStats stats = log->stats();
  EXPECT_EQ(stats.appends, uint64_t{kThreads * kAppendsPerThread});
  EXPECT_EQ(stats.records, uint64_t{kThreads * kAppendsPerThread});
  EXPECT_EQ(stats.syncs, stats.group_commits);
  EXPECT_LE(log->sync_count(), stats.appends);
  EXPECT_EQ(stats.pending_appends, 0u);
}

TEST(EmbeddedLogTest, AppendsQueuedBehindAGroupCommitShareOneSync) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto gated, OpenGated(dir.Sub("log"), {}));
  EmbeddedLog& log = *gated->log;
  const uint64_t syncs_before = gated->fs->wal_syncs();

  // The first append leads a group of one and blocks in its WAL sync.
  gated->fs->CloseGate();
  constexpr int kQueued = 7;
  std::vector<absl::StatusOr<std::vector<LogPosition>>> results(kQueued + 1);
  Threads threads(gated->fs.get());
  threads.Start([&] {
    const LogAppend record = Record("leader", "v");
    results[0] = log.Append({&record, 1});
  });
  ASSERT_TRUE(gated->fs->AwaitBlockedSync());
  // Seven more queue up behind it.
  for (int i = 1; i <= kQueued; ++i) {
    threads.Start([&, i] {
      const LogAppend record = Record(absl::StrCat("queued-", i), "v");
      results[i] = log.Append({&record, 1});
    });
  }
  ASSERT_TRUE(AwaitPendingAppends(log, kQueued + 1));
  threads.JoinAll();  // Opens the gate first.

  std::set<std::pair<int32_t, int64_t>> positions;
  for (const auto& result : results) {
    ASSERT_OK(result);
    ASSERT_EQ(result->size(), 1u);
    positions.insert({(*result)[0].partition, (*result)[0].offset});
  }
  EXPECT_EQ(positions.size(), results.size());
  // Eight appends, two fsyncs: the leader's, then one for the seven.
  EXPECT_EQ(log.stats().appends, uint64_t{kQueued + 1});
  EXPECT_EQ(log.sync_count(), 2u);
  EXPECT_EQ(gated->fs->wal_syncs() - syncs_before, 2u);
}

TEST(EmbeddedLogTest, AGroupTakesQueuedAppendsOnlyUpToMaxGroupBytes) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto gated,
                       OpenGated(dir.Sub("log"), {.max_group_bytes = 100}));
  EmbeddedLog& log = *gated->log;

  gated->fs->CloseGate();
  std::vector<absl::Status> statuses(5);
  Threads threads(gated->fs.get());
  threads.Start([&] {
    const LogAppend record = Record("leader", "v");
    statuses[0] = log.Append({&record, 1}).status();
  });
  ASSERT_TRUE(gated->fs->AwaitBlockedSync());
  for (int i = 1; i <= 4; ++i) {
    threads.Start([&, i] {
      // 40 bytes each: two fit in 100 bytes, three do not.
      const LogAppend record =
          Record(absl::StrCat("key-", i), std::string(35, 'x'));
      statuses[i] = log.Append({&record, 1}).status();
    });
  }
  ASSERT_TRUE(AwaitPendingAppends(log, 5));
  threads.JoinAll();  // Opens the gate first.
  for (const absl::Status& s : statuses) ASSERT_OK(s);

  // The leader alone, then two groups of two.
  EXPECT_EQ(log.stats().group_commits, 3u);
  EXPECT_EQ(log.stats().appends, 5u);
}

TEST(EmbeddedLogTest, AnAppendIsNeitherAcknowledgedNorReadableBeforeItsSync) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto gated,
                       OpenGated(dir.Sub("log"), {.partitions = 1}));
  EmbeddedLog& log = *gated->log;

  gated->fs->CloseGate();
  std::atomic<bool> returned{false};
  absl::StatusOr<std::vector<LogPosition>> result;
  Threads appender(gated->fs.get());
  appender.Start([&] {
    const LogAppend record = Record("k", "v");
    result = log.Append({&record, 1});
    returned = true;
  });
  // The record is in RocksDB's WAL, its sync is held at the gate.
  ASSERT_TRUE(gated->fs->AwaitBlockedSync());
  EXPECT_FALSE(returned);
  EXPECT_EQ(log.EndOffset(0), 0);
  std::vector<LogRecord> out;
  ASSERT_OK(log.Read(0, 0, 10, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(log.WaitForData(0, 0, absl::InfinitePast()));

  appender.JoinAll();  // Opens the gate first.
  ASSERT_OK(result);
  EXPECT_EQ(log.EndOffset(0), 1);
  ASSERT_OK(log.Read(0, 0, 10, &out));
  EXPECT_EQ(out.size(), 1u);
}

TEST(EmbeddedLogTest,
     AFailedSyncFailsEveryAppendInTheGroupAndPublishesNothing) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto gated,
                       OpenGated(dir.Sub("log"), {.partitions = 1}));
  EmbeddedLog& log = *gated->log;

  gated->fs->FailSyncs();
  gated->fs->CloseGate();
  std::vector<absl::Status> statuses(4);
  Threads threads(gated->fs.get());
  threads.Start([&] {
    const LogAppend record = Record("leader", "v");
    statuses[0] = log.Append({&record, 1}).status();
  });
  ASSERT_TRUE(gated->fs->AwaitBlockedSync());
  for (int i = 1; i < 4; ++i) {
    threads.Start([&, i] {
      const LogAppend record = Record(absl::StrCat("queued-", i), "v");
      statuses[i] = log.Append({&record, 1}).status();
    });
  }
  ASSERT_TRUE(AwaitPendingAppends(log, 4));
  threads.JoinAll();  // Opens the gate first.

  for (const absl::Status& s : statuses) {
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(std::string(s.message()), HasSubstr("embedded log"));
  }
  EXPECT_THAT(std::string(statuses[0].message()),
              HasSubstr("injected WAL sync failure"));
  EXPECT_EQ(log.EndOffset(0), 0);
  std::vector<LogRecord> out;
  ASSERT_OK(log.Read(0, 0, 10, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(log.stats().appends, 0u);
  EXPECT_EQ(log.stats().pending_appends, 0u);
}

TEST(EmbeddedLogTest, RecordsAndEndOffsetsSurviveCloseAndReopen) {
  testing::TempDir dir;
  std::vector<LogAppend> batch;
  for (int i = 0; i < 40; ++i) {
    batch.push_back(Record(absl::StrCat("customer-", i), absl::StrCat("e", i)));
  }
  std::vector<LogPosition> positions;
  std::vector<int64_t> ends;
  {
    ASSERT_OK_AND_ASSIGN(auto log,
                         EmbeddedLog::Open(dir.Sub("log"), {.partitions = 4}));
    ASSERT_OK_AND_ASSIGN(positions, log->Append(batch));
    for (int32_t p = 0; p < 4; ++p) ends.push_back(log->EndOffset(p));
  }
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 4}));
  for (int32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(log->EndOffset(p), ends[p]) << "partition " << p;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    std::vector<LogRecord> out;
    ASSERT_OK(log->Read(positions[i].partition, positions[i].offset, 1, &out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].key, batch[i].key);
    EXPECT_EQ(out[0].value, batch[i].value);
  }
  // New appends continue after the recovered ends.
  const LogAppend more = Record("customer-0", "later");
  ASSERT_OK_AND_ASSIGN(std::vector<LogPosition> next, log->Append({&more, 1}));
  EXPECT_EQ(next[0].partition, positions[0].partition);
  EXPECT_EQ(next[0].offset, ends[positions[0].partition]);
}

TEST(EmbeddedLogTest, ReopenKeepsThePartitionCountTheLogWasCreatedWith) {
  testing::TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(auto log,
                         EmbeddedLog::Open(dir.Sub("log"), {.partitions = 3}));
    EXPECT_EQ(log->partition_count(), 3);
    const LogAppend record = Record("customer-42", "v");
    ASSERT_OK(log->Append({&record, 1}));
  }
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 16}));
  EXPECT_EQ(log->partition_count(), 3);
  const LogAppend record = Record("customer-42", "w");
  ASSERT_OK_AND_ASSIGN(std::vector<LogPosition> positions,
                       log->Append({&record, 1}));
  EXPECT_EQ(positions[0].partition, PartitionForKey("customer-42", 3));
  EXPECT_EQ(positions[0].offset, 1);
}

TEST(EmbeddedLogTest, WaitForDataReturnsTrueWhenAnotherThreadAppends) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 1}));
  bool found = false;
  Threads waiter;
  waiter.Start(
      [&] { found = log->WaitForData(0, 0, absl::Now() + kPatience); });
  const LogAppend record = Record("k", "v");
  ASSERT_OK(log->Append({&record, 1}));
  waiter.JoinAll();
  EXPECT_TRUE(found);
  // Data already there: no wait at all.
  EXPECT_TRUE(log->WaitForData(0, 0, absl::InfinitePast()));
}

TEST(EmbeddedLogTest, WaitForDataReturnsFalseAtTheDeadlineWithoutData) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 2}));
  EXPECT_FALSE(log->WaitForData(0, 0, absl::InfinitePast()));
  EXPECT_FALSE(log->WaitForData(1, 0, absl::Now()));
  const LogAppend record = Record("k", "v");
  ASSERT_OK_AND_ASSIGN(std::vector<LogPosition> positions,
                       log->Append({&record, 1}));
  // Past the end of a partition that has data is still no data.
  EXPECT_FALSE(
      log->WaitForData(positions[0].partition, 1, absl::InfinitePast()));
}

TEST(EmbeddedLogTest, ShutdownWakesAWaiterAndCancelsLaterAppends) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto log,
                       EmbeddedLog::Open(dir.Sub("log"), {.partitions = 1}));
  // Far enough that returning before it can only mean Shutdown() woke it.
  const absl::Time deadline = absl::Now() + kPatience;
  bool found = true;
  Threads waiter;
  waiter.Start([&] { found = log->WaitForData(0, 0, deadline); });
  log->Shutdown();
  waiter.JoinAll();
  EXPECT_FALSE(found);
  EXPECT_LT(absl::Now(), deadline);
  EXPECT_FALSE(log->WaitForData(0, 0, deadline));  // Returns at once.

  const LogAppend record = Record("k", "v");
  EXPECT_EQ(log->Append({&record, 1}).status().code(),
            absl::StatusCode::kCancelled);
}

TEST(EmbeddedLogTest, OpenUnderARegularFileFailsWithAClearStatus) {
  testing::TempDir dir;
  const std::string file = dir.Sub("plain-file");
  std::ofstream(file) << "not a directory";
  absl::StatusOr<std::unique_ptr<EmbeddedLog>> log =
      EmbeddedLog::Open(file + "/log", {});
  ASSERT_FALSE(log.ok());
  const std::string message(log.status().message());
  EXPECT_THAT(message, HasSubstr(file + "/log"));
  EXPECT_THAT(message, HasSubstr("cannot create directory"));
  EXPECT_THAT(message, HasSubstr("Not a directory"));
}

TEST(EmbeddedLogTest, OpeningADirectoryInUseFailsWithAClearStatus) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto first, EmbeddedLog::Open(dir.Sub("log"), {}));
  absl::StatusOr<std::unique_ptr<EmbeddedLog>> second =
      EmbeddedLog::Open(dir.Sub("log"), {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("another kehu process"));
  // The first handle is unaffected.
  const LogAppend record = Record("k", "v");
  EXPECT_OK(first->Append({&record, 1}));
}

TEST(EmbeddedLogTest, OpenRejectsANonPositivePartitionCount) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<EmbeddedLog>> log =
      EmbeddedLog::Open(dir.Sub("log"), {.partitions = 0});
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kehu::infra
