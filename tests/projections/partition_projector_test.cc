#include "projections/partition_projector.h"

#include "gtest/gtest.h"
#include "infra/murmur2.h"
#include "infra/rocks_status.h"
#include "infra/store_schema.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::projections {
namespace {

using infra::LogRecord;
using infra::schema::Family;
using infra::schema::IndexMetric;
using namespace kehu::testing;  // NOLINT: event builders

class PartitionProjectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(
        store_, infra::ProjectionStore::Open(dir_.Sub("store"),
                                             infra::ProjectionStoreOptions()));
    ASSERT_OK_AND_ASSIGN(projector_,
                         PartitionProjector::Create(store_.get(), 0));
  }

  // Turns events (or raw bytes) into consecutive records of partition 0.
  LogRecord Record(const events::v1::Event& e) {
    return LogRecord{0, next_offset_++, e.customer_id(), e.SerializeAsString()};
  }
  LogRecord RawRecord(std::string key, std::string value) {
    return LogRecord{0, next_offset_++, std::move(key), std::move(value)};
  }

  store::v1::CustomerState Customer(const std::string& id) {
    auto state = store_->GetCustomer(id);
    EXPECT_OK(state);
    EXPECT_TRUE(state->has_value()) << id;
    return state->value_or(store::v1::CustomerState());
  }

  std::vector<std::string> IndexedCustomers(IndexMetric metric) {
    std::vector<std::string> ids;
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
        rocksdb::ReadOptions(), store_->family(Family::kIndexes)));
    const std::string prefix = infra::schema::IndexPrefix(metric);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      IndexMetric m;
      int64_t value;
      std::string id;
      EXPECT_TRUE(infra::schema::DecodeIndexKey(it->key().ToStringView(), &m,
                                                &value, &id));
      ids.push_back(id + "=" + std::to_string(value));
    }
    EXPECT_OK(infra::FromRocks(it->status(), "scan"));
    return ids;
  }

  std::vector<store::v1::DeadLetter> DeadLetters() {
    std::vector<store::v1::DeadLetter> letters;
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
        rocksdb::ReadOptions(), store_->family(Family::kDeadLetter)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      store::v1::DeadLetter letter;
      EXPECT_TRUE(letter.ParseFromString(it->value().ToString()));
      letters.push_back(letter);
    }
    return letters;
  }

  TempDir dir_;
  std::unique_ptr<infra::ProjectionStore> store_;
  std::unique_ptr<PartitionProjector> projector_;
  int64_t next_offset_ = 0;
};

TEST_F(PartitionProjectorTest, CommitsStateAndNextOffsetTogether) {
  ASSERT_OK(projector_->Process(
      {Record(Registered("e1", "C1", 0)),
       Record(Order("e2", "C1", 1, "O1", {{"A", 1, 500}}))}));
  EXPECT_EQ(Customer("C1").purchase_count(), 1);
  ASSERT_OK_AND_ASSIGN(auto progress, store_->GetProgress(0));
  EXPECT_EQ(progress.next_offset(), 2);
  EXPECT_EQ(progress.folded(), 2);
  EXPECT_EQ(projector_->next_offset(), 2);
}

TEST_F(PartitionProjectorTest, ResentEventChangesNothing) {
  auto order = Order("e1", "C1", 1, "O1", {{"A", 1, 500}});
  ASSERT_OK(projector_->Process({Record(order), Record(order)}));
  ASSERT_OK(projector_->Process({Record(order)}));
  // Also after a restart, when the cache is cold.
  ASSERT_OK_AND_ASSIGN(auto restarted,
                       PartitionProjector::Create(store_.get(), 0));
  ASSERT_OK(restarted->Process({Record(order)}));
  auto c = Customer("C1");
  EXPECT_EQ(c.counts().orders(), 1);
  EXPECT_EQ(c.totals(0).revenue_minor(), 500);
  ASSERT_OK_AND_ASSIGN(auto progress, store_->GetProgress(0));
  EXPECT_EQ(progress.duplicates(), 3);
  EXPECT_EQ(progress.next_offset(), 4);
}

TEST_F(PartitionProjectorTest, MalformedEventIsDeadLetteredAndLaterEventsFold) {
  auto bad = Order("e2", "C1", 1, "O1", {{"A", -2, 500}});
  ASSERT_OK(projector_->Process(
      {Record(Registered("e1", "C1", 0)),
       RawRecord("C1", "\xff\xff not a protobuf"), Record(bad),
       Record(Order("e3", "C1", 2, "O2", {{"A", 1, 700}}))}));
  auto letters = DeadLetters();
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0].offset(), 1);
  EXPECT_EQ(letters[0].value(), "\xff\xff not a protobuf");
  EXPECT_EQ(letters[0].key(), "C1");
  EXPECT_NE(letters[0].reason().find("does not parse"), std::string::npos);
  EXPECT_EQ(letters[1].offset(), 2);
  EXPECT_EQ(letters[1].field(), "order_placed.lines[0].quantity");
  EXPECT_EQ(letters[1].reason(), "must be positive, got -2");
  EXPECT_EQ(letters[1].value(), bad.SerializeAsString());

  auto c = Customer("C1");
  EXPECT_EQ(c.purchase_count(), 1);
  EXPECT_EQ(c.totals(0).revenue_minor(), 700);
  ASSERT_OK_AND_ASSIGN(auto progress, store_->GetProgress(0));
  EXPECT_EQ(progress.dead_lettered(), 2);
  EXPECT_EQ(progress.folded(), 2);
  EXPECT_EQ(progress.next_offset(), 4);
}

TEST_F(PartitionProjectorTest, EventWhoseKeyIsNotItsCustomerIsDeadLettered) {
  auto e = Registered("e1", "C1", 0);
  ASSERT_OK(projector_->Process({RawRecord("C2", e.SerializeAsString())}));
  auto letters = DeadLetters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].field(), "customer_id");
}

TEST_F(PartitionProjectorTest, UnknownPayloadIsCountedAndSkipped) {
  auto e = MakeEvent("e1", "C1", 0);
  // Field 99 with a length-delimited value: a payload a newer producer knows.
  std::string bytes = e.SerializeAsString() + std::string("\x9a\x06\x02hi", 5);
  ASSERT_OK(projector_->Process(
      {RawRecord("C1", bytes), Record(Registered("e2", "C1", 1))}));
  ASSERT_OK_AND_ASSIGN(auto progress, store_->GetProgress(0));
  EXPECT_EQ(progress.unknown_skipped(), 1);
  EXPECT_EQ(progress.dead_lettered(), 0);
  EXPECT_EQ(Customer("C1").counts().registrations(), 1);
}

TEST_F(PartitionProjectorTest, IndexesFollowTheCustomersValues) {
  ASSERT_OK(projector_->Process(
      {Record(Order("e1", "C1", 1, "O1", {{"A", 1, 500}})),
       Record(Order("e2", "C2", 1, "O2", {{"A", 1, 900}}))}));
  EXPECT_EQ(IndexedCustomers(IndexMetric::kRevenue),
            (std::vector<std::string>{"C2=900", "C1=500"}));
  // C1 overtakes C2; its old index row must be gone.
  ASSERT_OK(projector_->Process(
      {Record(Order("e3", "C1", 2, "O3", {{"A", 1, 1000}}))}));
  EXPECT_EQ(IndexedCustomers(IndexMetric::kRevenue),
            (std::vector<std::string>{"C1=1500", "C2=900"}));
  EXPECT_EQ(IndexedCustomers(IndexMetric::kPurchaseCount),
            (std::vector<std::string>{"C1=2", "C2=1"}));
  // The same after a restart (values come from the stored rows).
  ASSERT_OK_AND_ASSIGN(auto restarted,
                       PartitionProjector::Create(store_.get(), 0));
  ASSERT_OK(restarted->Process({Record(Cancelled("e4", "C1", 3, "O3"))}));
  EXPECT_EQ(IndexedCustomers(IndexMetric::kRevenue),
            (std::vector<std::string>{"C2=900", "C1=500"}));
}

TEST_F(PartitionProjectorTest, TimelineKeepsEveryFoldedEvent) {
  auto e1 = Registered("e1", "C1", 0);
  auto e2 = Call("e2", "C1", 1);
  ASSERT_OK(projector_->Process({Record(e1), Record(e2)}));
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
      rocksdb::ReadOptions(), store_->family(Family::kTimeline)));
  std::vector<std::string> values;
  const std::string prefix = infra::schema::TimelinePrefix("C1");
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    values.push_back(it->value().ToString());
  }
  EXPECT_EQ(values, (std::vector<std::string>{e1.SerializeAsString(),
                                              e2.SerializeAsString()}));
}

TEST_F(PartitionProjectorTest,
       RecordInAnotherCustomersPartitionIsDeadLettered) {
  // Partition 0 of 4: find a customer murmur2 puts there, and one it does not.
  std::string here, elsewhere;
  for (int i = 0; here.empty() || elsewhere.empty(); ++i) {
    const std::string id = "C" + std::to_string(i);
    (infra::PartitionForKey(id, 4) == 0 ? here : elsewhere) = id;
  }
  ASSERT_OK_AND_ASSIGN(
      auto checked,
      PartitionProjector::Create(
          store_.get(), 0, PartitionProjector::kDefaultCacheCustomers, 4));
  ASSERT_OK(checked->Process({Record(Registered("e1", elsewhere, 0)),
                              Record(Registered("e2", here, 0))}));
  auto letters = DeadLetters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].key(), elsewhere);
  EXPECT_EQ(letters[0].field(), "customer_id");
  EXPECT_NE(letters[0].reason().find("murmur2"), std::string::npos);
  EXPECT_EQ(Customer(here).counts().registrations(), 1);
}

}  // namespace
}  // namespace kehu::projections
