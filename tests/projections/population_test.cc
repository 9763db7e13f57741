#include "projections/population.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/partition_projector.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::projections {
namespace {

using ::testing::ElementsAre;
using namespace kehu::testing;  // NOLINT: event builders

absl::Time Day(int day) {
  return absl::FromUnixSeconds(1735689600) + absl::Hours(24 * day);
}

TEST(QuintileCutsTest, FiveDistinctValuesGetOneCutBetweenEach) {
  EXPECT_THAT(QuintileCutsOf({5, 3, 1, 4, 2}).cuts(), ElementsAre(1, 2, 3, 4));
}

TEST(QuintileCutsTest, TiedValuesShareACut) {
  // Ten customers, six of them tied at 1: the first three cuts are all 1.
  EXPECT_THAT(QuintileCutsOf({1, 1, 1, 1, 1, 1, 2, 3, 4, 5}).cuts(),
              ElementsAre(1, 1, 1, 3));
}

TEST(QuintileCutsTest, NoValuesNoCuts) {
  EXPECT_EQ(QuintileCutsOf({}).cuts_size(), 0);
}

class PopulationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(
        store_, infra::ProjectionStore::Open(dir_.Sub("store"),
                                             infra::ProjectionStoreOptions()));
    ASSERT_OK_AND_ASSIGN(projector_,
                         PartitionProjector::Create(store_.get(), 0));
  }

  void Fold(const std::vector<events::v1::Event>& events) {
    std::vector<infra::LogRecord> records;
    for (const auto& e : events) {
      records.push_back(
          {0, next_offset_++, e.customer_id(), e.SerializeAsString()});
    }
    ASSERT_OK(projector_->Process(records));
  }

  TempDir dir_;
  std::unique_ptr<infra::ProjectionStore> store_;
  std::unique_ptr<PartitionProjector> projector_;
  int64_t next_offset_ = 0;
};

TEST_F(PopulationTest, ParetoAndPyramidCutoffsFollowTheTrailingMargin) {
  // Twenty customers with trailing margins 100, 200, ..., 2000 (no costs:
  // margin = revenue); C00 bought twice, the others once. One more customer
  // bought only outside the window, one never.
  std::vector<events::v1::Event> events;
  for (int i = 0; i < 20; ++i) {
    const std::string id = absl::StrCat("C", i < 10 ? "0" : "", i);
    events.push_back(Order(absl::StrCat("o", i), id, 400, absl::StrCat("O", i),
                           {{"A", 1, 100 * (i + 1)}}));
  }
  events.push_back(Order("x1", "C00", 410, "X1", {{"B", 1, 0}}));
  events.push_back(Order("old", "OLD", 0, "OLD1", {{"A", 1, 5000}}));
  events.push_back(Registered("reg", "NEW", 100));
  Fold(events);

  ASSERT_OK_AND_ASSIGN(auto m, MeasurePopulation(*store_, Day(420)));
  EXPECT_EQ(m.as_of_us(), absl::ToUnixMicros(Day(420)));
  EXPECT_EQ(m.purchasing_customers(), 21);
  EXPECT_EQ(m.active_customers(), 20);
  EXPECT_THAT(m.log_positions(), ElementsAre(23));

  // Total 21000, 80% of it 16800. From the top, 2000 + 1900 + ... + 1000
  // (eleven customers) = 16500 falls short; adding 900 gives 17400: twelve
  // key customers, cutoff 900.
  EXPECT_EQ(m.total_margin_minor(), 21000);
  EXPECT_EQ(m.pareto_key_customers(), 12);
  EXPECT_EQ(m.pareto_cutoff_minor(), 900);

  // Pyramid over 20 active customers: key = ceil(5% of 20) = 1 (2000),
  // potential = ceil(20% of 20) - 1 = 3 (down to 1700).
  EXPECT_EQ(m.pyramid_key_customers(), 1);
  EXPECT_EQ(m.pyramid_key_cutoff_minor(), 2000);
  EXPECT_EQ(m.pyramid_potential_customers(), 3);
  EXPECT_EQ(m.pyramid_potential_cutoff_minor(), 1700);

  // Frequency cuts over the 21 purchasing customers: 20 with 1 or 2 in the
  // window, OLD with 0.
  EXPECT_THAT(m.frequency().cuts(), ElementsAre(1, 1, 1, 1));
  EXPECT_THAT(m.recency_days().cuts(), ElementsAre(20, 20, 20, 20));

  // Category means: the key customer bought A for 2000; potential buyers of
  // A average (1900+1800+1700)/3.
  bool saw_potential = false;
  for (const auto& tier : m.category_margins()) {
    if (tier.tier() == "potential") {
      saw_potential = true;
      ASSERT_THAT(tier.categories(), ElementsAre("cat-A"));
      EXPECT_DOUBLE_EQ(tier.mean_margin_minor(0), 1800);
    }
  }
  EXPECT_TRUE(saw_potential);
}

TEST_F(PopulationTest, ModelsThatCannotBeFittedSayWhy) {
  // Nobody ever bought twice: BG/NBD has no interior maximum.
  Fold({Order("o1", "A", 1, "O1", {{"A", 1, 100}}),
        Order("o2", "B", 2, "O2", {{"A", 1, 100}})});
  ASSERT_OK_AND_ASSIGN(auto m, MeasurePopulation(*store_, Day(30)));
  EXPECT_FALSE(m.bg_nbd_error().empty());
  EXPECT_FALSE(m.gamma_gamma_error().empty());
  EXPECT_EQ(m.models().customers(), 2);
  EXPECT_EQ(m.models().repeat_customers(), 0);
}

TEST_F(PopulationTest, TheRowRoundTripsThroughTheStore) {
  Fold({Order("o1", "A", 1, "O1", {{"A", 1, 100}})});
  ASSERT_OK_AND_ASSIGN(auto before, store_->GetPopulation());
  EXPECT_FALSE(before.has_value());
  ASSERT_OK_AND_ASSIGN(auto m, MeasurePopulation(*store_, Day(30)));
  ASSERT_OK(store_->PutPopulation(m));
  ASSERT_OK_AND_ASSIGN(auto after, store_->GetPopulation());
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->SerializeAsString(), m.SerializeAsString());
}

}  // namespace
}  // namespace kehu::projections
