#include "infra/store_digest.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "infra/store_schema.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::infra {
namespace {

using schema::Family;
using testing::TempDir;

std::unique_ptr<ProjectionStore> OpenStore(const std::string& dir) {
  auto store = ProjectionStore::Open(dir, ProjectionStoreOptions());
  EXPECT_OK(store);
  return store.ok() ? std::move(*store) : nullptr;
}

std::string Hex(const ProjectionStore& store) {
  auto digest = DigestStore(store);
  EXPECT_OK(digest);
  return digest.ok() ? digest->hex : "";
}

TEST(StoreDigestTest, AFreshStoreHashesItsMetaRowsAsDocumented) {
  TempDir dir;
  auto store = OpenStore(dir.Sub("s"));
  ASSERT_OK_AND_ASSIGN(StoreDigest digest, DigestStore(*store));
  // SHA-256 of the two meta rows, each as 8-byte big-endian lengths of
  // family, key and value followed by their bytes, in key order — computed
  // apart from this code.
  EXPECT_EQ(digest.hex,
            "f58cbee56c94a4bcf934fcfbe4276d092a67f7bcf7570f77d705520169c4dd0f");
  EXPECT_EQ(digest.rows, 2);
  ASSERT_EQ(digest.families.size(), static_cast<size_t>(schema::kFamilyCount));
  EXPECT_EQ(digest.families[0].family, "customers");
  EXPECT_EQ(digest.families[0].rows, 0);
  // An empty family hashes nothing.
  EXPECT_EQ(digest.families[0].hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest.families[static_cast<int>(Family::kMeta)].hex, digest.hex);
}

TEST(StoreDigestTest, WriteOrderBatchingFlushesAndCompactionsDoNotShow) {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  rocksdb::WriteBatch one;
  one.Put(a->family(Family::kCustomers), "C1", "state-1");
  one.Put(a->family(Family::kCustomers), "C2", "state-2");
  one.Put(a->family(Family::kTimeline), "t", "event");
  ASSERT_OK(a->Write(&one));

  rocksdb::WriteBatch first, second;
  second.Put(b->family(Family::kTimeline), "t", "event");
  second.Put(b->family(Family::kCustomers), "C2", "old");
  ASSERT_OK(b->Write(&second));
  ASSERT_TRUE(b->db()->Flush(rocksdb::FlushOptions()).ok());
  first.Put(b->family(Family::kCustomers), "C2", "state-2");
  first.Put(b->family(Family::kCustomers), "C1", "state-1");
  ASSERT_OK(b->Write(&first));
  ASSERT_TRUE(b->db()
                  ->CompactRange(rocksdb::CompactRangeOptions(),
                                 b->family(Family::kCustomers), nullptr,
                                 nullptr)
                  .ok());
  EXPECT_EQ(Hex(*a), Hex(*b));
}

TEST(StoreDigestTest, CountersAreHashedMergedAndRowsOfZerosNotAtAll) {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  rocksdb::ColumnFamilyHandle* fa = a->family(Family::kSegments);
  rocksdb::ColumnFamilyHandle* fb = b->family(Family::kSegments);
  const std::string key = schema::SegmentCounterKey(1, "k");
  const std::string emptied = schema::SegmentCounterKey(3, "x");

  // a: one merge of {2, 10, 0}.
  rocksdb::WriteBatch wa;
  wa.Merge(fa, key, schema::EncodeCounters({2, 10, 0}));
  ASSERT_OK(a->Write(&wa));
  // b: the same sum in three merges over two commits, and a segment that
  // a customer entered and left.
  rocksdb::WriteBatch wb1, wb2;
  wb1.Merge(fb, key, schema::EncodeCounters({1, 4, 3}));
  wb1.Merge(fb, emptied, schema::EncodeCounters({1, 5, 5}));
  ASSERT_OK(b->Write(&wb1));
  ASSERT_TRUE(b->db()->Flush(rocksdb::FlushOptions()).ok());
  wb2.Merge(fb, key, schema::EncodeCounters({1, 6, -3}));
  wb2.Merge(fb, emptied, schema::EncodeCounters({-1, -5, -5}));
  ASSERT_OK(b->Write(&wb2));
  EXPECT_EQ(Hex(*a), Hex(*b));

  ASSERT_OK_AND_ASSIGN(StoreDigest digest, DigestStore(*b));
  EXPECT_EQ(digest.families[static_cast<int>(Family::kSegments)].rows, 1);

  // A counter that differs shows.
  rocksdb::WriteBatch more;
  more.Merge(fb, key, schema::EncodeCounters({0, 1}));
  ASSERT_OK(b->Write(&more));
  EXPECT_NE(Hex(*a), Hex(*b));
}

TEST(StoreDigestTest, AnyRowChangesItsFamilysDigestAndNoOther) {
  TempDir dir;
  auto store = OpenStore(dir.Sub("s"));
  rocksdb::WriteBatch batch;
  batch.Put(store->family(Family::kCustomers), "C1", "state");
  ASSERT_OK(store->Write(&batch));
  ASSERT_OK_AND_ASSIGN(StoreDigest before, DigestStore(*store));

  rocksdb::WriteBatch change;
  change.Put(store->family(Family::kDedup), "C1-e1", "x");
  ASSERT_OK(store->Write(&change));
  ASSERT_OK_AND_ASSIGN(StoreDigest after, DigestStore(*store));
  EXPECT_NE(before.hex, after.hex);
  for (int f = 0; f < schema::kFamilyCount; ++f) {
    if (f == static_cast<int>(Family::kDedup)) {
      EXPECT_NE(before.families[f].hex, after.families[f].hex);
    } else {
      EXPECT_EQ(before.families[f].hex, after.families[f].hex)
          << before.families[f].family;
    }
  }

  // The same bytes in another family are another store.
  auto other = OpenStore(dir.Sub("o"));
  rocksdb::WriteBatch moved;
  moved.Put(other->family(Family::kCustomers), "C1", "state");
  moved.Put(other->family(Family::kTimeline), "C1-e1", "x");
  ASSERT_OK(other->Write(&moved));
  EXPECT_NE(Hex(*other), after.hex);
}

TEST(StoreDigestTest, AReadOnlyOpenBesideAWriterSeesWhatItWrote) {
  TempDir dir;
  auto store = OpenStore(dir.Sub("s"));
  rocksdb::WriteBatch batch;
  batch.Put(store->family(Family::kCustomers), "C1", "state");
  batch.Merge(store->family(Family::kSegments),
              schema::SegmentCounterKey(1, "k"), schema::EncodeCounters({1}));
  ASSERT_OK(store->Write(&batch));

  ASSERT_OK_AND_ASSIGN(auto reader,
                       ProjectionStore::OpenReadOnly(dir.Sub("s")));
  EXPECT_EQ(reader->reporting_currency(), "EUR");
  EXPECT_EQ(Hex(*reader), Hex(*store));
  rocksdb::WriteBatch refused;
  refused.Put(reader->family(Family::kCustomers), "C2", "state");
  EXPECT_FALSE(reader->Write(&refused).ok());
}

TEST(StoreDigestTest, ReadOnlyOpenOfAMissingStoreIsNotFound) {
  TempDir dir;
  auto store = ProjectionStore::OpenReadOnly(dir.Sub("none"));
  EXPECT_TRUE(absl::IsNotFound(store.status())) << store.status();
  EXPECT_NE(std::string(store.status().message()).find(dir.Sub("none")),
            std::string::npos);
}

}  // namespace
}  // namespace kehu::infra
