// ForEachCustomerChunk: every customer row reaches `work` once, in chunks
// of at most chunk_rows, each worker index on one thread at a time; an
// error or a cancel stops the scan.
#include "projections/customer_chunks.h"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/store_schema.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::projections {
namespace {

using testing::TempDir;

// A store with `count` customer rows "c000".."c<count-1>", each the value
// "v" + its number.
std::unique_ptr<infra::ProjectionStore> StoreWithRows(const std::string& dir,
                                                      int count) {
  auto store = infra::ProjectionStore::Open(dir, {});
  EXPECT_OK(store);
  for (int i = 0; i < count; ++i) {
    char id[8];
    snprintf(id, sizeof(id), "c%03d", i);
    EXPECT_TRUE((*store)
                    ->db()
                    ->Put(rocksdb::WriteOptions(),
                          (*store)->family(infra::schema::Family::kCustomers),
                          infra::schema::CustomerKey(id), absl::StrCat("v", i))
                    .ok());
  }
  return std::move(*store);
}

TEST(ForEachCustomerChunkTest, EveryRowOnceInChunksOnDistinctWorkers) {
  TempDir dir;
  auto store = StoreWithRows(dir.Sub("store"), 50);
  absl::Mutex mu;
  std::multiset<std::string> values;
  std::map<int, int> busy;  // worker -> threads in it now
  bool overlapped = false;
  ASSERT_OK(ForEachCustomerChunk(
      *store, rocksdb::ReadOptions(), 3, 7, {},
      [&](int worker, const CustomerRows& rows) -> absl::Status {
        {
          absl::MutexLock lock(&mu);
          EXPECT_GE(worker, 0);
          EXPECT_LT(worker, 3);
          EXPECT_LE(rows.size(), 7u);
          if (++busy[worker] > 1) overlapped = true;
          for (const auto& [key, value] : rows) values.insert(value);
        }
        absl::MutexLock lock(&mu);
        --busy[worker];
        return absl::OkStatus();
      }));
  EXPECT_FALSE(overlapped);
  ASSERT_EQ(values.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(values.count(absl::StrCat("v", i)), 1u) << i;
  }
}

TEST(ForEachCustomerChunkTest, AnErrorStopsTheScanAndIsReturned) {
  TempDir dir;
  auto store = StoreWithRows(dir.Sub("store"), 50);
  std::atomic<int> chunks{0};
  const absl::Status s = ForEachCustomerChunk(
      *store, rocksdb::ReadOptions(), 2, 5, {},
      [&](int, const CustomerRows& rows) -> absl::Status {
        ++chunks;
        for (const auto& [key, value] : rows) {
          if (value == "v12") return absl::DataLossError("row v12");
        }
        return absl::OkStatus();
      });
  EXPECT_EQ(s, absl::DataLossError("row v12"));
  // v12 is in the third chunk, in the second round: no round after it.
  EXPECT_EQ(chunks.load(), 4);
}

TEST(ForEachCustomerChunkTest, CancelledBeforeARoundStops) {
  TempDir dir;
  auto store = StoreWithRows(dir.Sub("store"), 50);
  int rounds = 0;
  std::atomic<int> rows_seen{0};
  const absl::Status s = ForEachCustomerChunk(
      *store, rocksdb::ReadOptions(), 2, 5, [&] { return ++rounds > 2; },
      [&](int, const CustomerRows& rows) -> absl::Status {
        rows_seen += static_cast<int>(rows.size());
        return absl::OkStatus();
      });
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_EQ(rows_seen.load(), 20);
}

TEST(ForEachCustomerChunkTest, NoRowsNoWork) {
  TempDir dir;
  auto store = StoreWithRows(dir.Sub("store"), 0);
  ASSERT_OK(ForEachCustomerChunk(
      *store, rocksdb::ReadOptions(), 2, 5, {},
      [&](int, const CustomerRows&) -> absl::Status {
        ADD_FAILURE() << "work without rows";
        return absl::OkStatus();
      }));
}

}  // namespace
}  // namespace kehu::projections
