#include "infra/projection_store.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::infra {
namespace {

using testing::TempDir;

// Writes the meta row `key` straight through RocksDB, as a replay that did
// not finish, or a kehu of another store layout, leaves it.
void PutMetaRow(const ProjectionStore& store, const char* key,
                const std::string& value) {
  ASSERT_TRUE(store.db()
                  ->Put(rocksdb::WriteOptions(),
                        store.family(schema::Family::kMeta), key, value)
                  .ok());
}

TEST(ProjectionStoreTest, TheReportingCurrencyReadsBesideTheOpenStore) {
  TempDir dir;
  ProjectionStoreOptions options;
  options.reporting_currency = "GBP";
  ASSERT_OK_AND_ASSIGN(auto store,
                       ProjectionStore::Open(dir.Sub("s"), options));
  ASSERT_OK_AND_ASSIGN(std::string currency,
                       ProjectionStore::ReadReportingCurrency(dir.Sub("s")));
  EXPECT_EQ(currency, "GBP");
  ASSERT_OK_AND_ASSIGN(auto reader,
                       ProjectionStore::OpenReadOnly(dir.Sub("s")));
  EXPECT_EQ(reader->reporting_currency(), "GBP");

  auto missing = ProjectionStore::ReadReportingCurrency(dir.Sub("none"));
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

// A store whose meta row `key` holds `value` is refused by Open() and
// OpenReadOnly() alike, with FAILED_PRECONDITION and a message holding
// each of `phrases`.
void ExpectRefusedWithMetaRow(const char* key, const std::string& value,
                              const std::vector<std::string>& phrases) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(auto store, ProjectionStore::Open(dir.Sub("s"), {}));
    PutMetaRow(*store, key, value);
  }
  auto writer = ProjectionStore::Open(dir.Sub("s"), {});
  auto reader = ProjectionStore::OpenReadOnly(dir.Sub("s"));
  for (const auto* opened : {&writer, &reader}) {
    EXPECT_TRUE(absl::IsFailedPrecondition(opened->status()))
        << opened->status();
    for (const std::string& phrase : phrases) {
      EXPECT_NE(opened->status().message().find(phrase), std::string::npos)
          << opened->status();
    }
  }
}

TEST(ProjectionStoreTest, AStoreAReplayHasNotFinishedDoesNotOpen) {
  ExpectRefusedWithMetaRow(schema::kMetaReplayInProgress, "", {"replay"});
}

TEST(ProjectionStoreTest, AStoreOfAnotherSchemaVersionDoesNotOpen) {
  ExpectRefusedWithMetaRow(schema::kMetaSchemaVersion, "1",
                           {"schema version 1", "rebuild it from the log"});
}

TEST(ProjectionStoreTest, ThePopulationReadsFromAStoreOfAnyLayoutVersion) {
  TempDir dir;
  store::v1::PopulationModel measured;
  measured.set_as_of_us(1767225600000000);
  measured.set_purchasing_customers(3);
  {
    ASSERT_OK_AND_ASSIGN(auto store, ProjectionStore::Open(dir.Sub("s"), {}));
    ASSERT_OK_AND_ASSIGN(std::optional<store::v1::PopulationModel> none,
                         ProjectionStore::ReadPopulationOf(dir.Sub("s")));
    EXPECT_FALSE(none.has_value());  // never fitted
    ASSERT_OK(store->PutPopulation(measured));
    PutMetaRow(*store, schema::kMetaSchemaVersion, "1");
  }
  ASSERT_OK_AND_ASSIGN(std::optional<store::v1::PopulationModel> read,
                       ProjectionStore::ReadPopulationOf(dir.Sub("s")));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->as_of_us(), measured.as_of_us());
  EXPECT_EQ(read->purchasing_customers(), 3);

  auto missing = ProjectionStore::ReadPopulationOf(dir.Sub("none"));
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

// A bulk load: no write-ahead log, and the timeline's memtable a vector
// sorted when flushed.
TEST(ProjectionStoreTest, ABulkLoadedBatchOutOfKeyOrderReadsBackAsWritten) {
  TempDir dir;
  ProjectionStoreOptions options;
  options.bulk_load = true;
  {
    ASSERT_OK_AND_ASSIGN(auto store,
                         ProjectionStore::Open(dir.Sub("s"), options));
    rocksdb::WriteBatch batch;
    // Out of key order, and two operations on one key: the later wins.
    batch.Put(store->family(schema::Family::kCustomers), "C2", "two");
    batch.Put(store->family(schema::Family::kCustomers), "C1", "one");
    batch.Delete(store->family(schema::Family::kCustomers), "C2");
    batch.Put(store->family(schema::Family::kTimeline), "c", "third");
    batch.Put(store->family(schema::Family::kTimeline), "a", "first");
    batch.Put(store->family(schema::Family::kTimeline), "b", "b");
    batch.Put(store->family(schema::Family::kTimeline), "a", "second");
    ASSERT_OK(store->Write(&batch));
    ASSERT_OK(store->Flush());
  }
  ASSERT_OK_AND_ASSIGN(auto store, ProjectionStore::OpenReadOnly(dir.Sub("s")));
  std::string value;
  EXPECT_TRUE(store->db()
                  ->Get(rocksdb::ReadOptions(),
                        store->family(schema::Family::kCustomers), "C1", &value)
                  .ok());
  EXPECT_EQ(value, "one");
  EXPECT_TRUE(store->db()
                  ->Get(rocksdb::ReadOptions(),
                        store->family(schema::Family::kCustomers), "C2", &value)
                  .IsNotFound());
  EXPECT_TRUE(store->db()
                  ->Get(rocksdb::ReadOptions(),
                        store->family(schema::Family::kTimeline), "a", &value)
                  .ok());
  EXPECT_EQ(value, "second");
  // The timeline reads back in key order, each key once.
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(
      rocksdb::ReadOptions(), store->family(schema::Family::kTimeline)));
  std::vector<std::string> rows;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rows.push_back(it->key().ToString() + "=" + it->value().ToString());
  }
  EXPECT_EQ(rows, (std::vector<std::string>{"a=second", "b=b", "c=third"}));
}

}  // namespace
}  // namespace kehu::infra
