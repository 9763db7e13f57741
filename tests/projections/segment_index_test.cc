#include "projections/segment_index.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/store_schema.h"
#include "producers/simulator.h"
#include "projections/partition_projector.h"
#include "projections/population.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::projections {
namespace {

namespace schema = infra::schema;

// Every counter row of the `segments` family, as stored.
std::map<std::string, std::vector<int64_t>> StoredCounters(
    const infra::ProjectionStore& store) {
  std::map<std::string, std::vector<int64_t>> out;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
      rocksdb::ReadOptions(), store.family(schema::Family::kSegments)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const char kind = it->key()[0];
    if (kind != 'c' && kind != 't' && kind != 'm') continue;
    std::vector<int64_t> values =
        schema::DecodeCounters(it->value().ToStringView());
    if (std::all_of(values.begin(), values.end(),
                    [](int64_t v) { return v == 0; })) {
      continue;  // a segment that emptied
    }
    out[it->key().ToString()] = values;
  }
  EXPECT_TRUE(it->status().ok());
  return out;
}

// The counters rebuilt from nothing: every customer's standing row written
// into an empty store.
std::map<std::string, std::vector<int64_t>> RebuiltCounters(
    const infra::ProjectionStore& store, const std::string& dir) {
  auto fresh = infra::ProjectionStore::Open(dir, {});
  EXPECT_TRUE(fresh.ok());
  SegmentIndex index(fresh->get());
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
      rocksdb::ReadOptions(), store.family(schema::Family::kSegments)));
  for (it->Seek(schema::StandingPrefix());
       it->Valid() && it->key().starts_with(schema::StandingPrefix());
       it->Next()) {
    store::v1::Standing standing;
    EXPECT_TRUE(standing.ParseFromArray(it->value().data(),
                                        static_cast<int>(it->value().size())));
    index.Write(nullptr, standing, &batch);
  }
  EXPECT_TRUE((*fresh)->Write(&batch).ok());
  return StoredCounters(**fresh);
}

// A simulated year folded in batches, with population steps in between:
// however customers moved between segments, each counter equals the sum
// over the customers standing in it now, and each standing equals a fresh
// evaluation.
TEST(SegmentIndexTest, CountersAlwaysEqualTheSumOverTheStandings) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store,
                       infra::ProjectionStore::Open(dir.Sub("store"), {}));
  ASSERT_OK_AND_ASSIGN(auto projector,
                       PartitionProjector::Create(store.get(), 0));
  producers::SimulatorOptions sim;
  sim.customers = 300;
  sim.days = 365;
  sim.seed = 11;
  std::vector<infra::LogRecord> records;
  int64_t offset = 0;
  ASSERT_OK(producers::Simulator(sim).Run([&](const events::v1::Event& e) {
    records.push_back({0, offset++, e.customer_id(), e.SerializeAsString()});
    return absl::OkStatus();
  }));
  ASSERT_GT(records.size(), 1000u);

  const SegmentIndex index(store.get());
  const size_t half = records.size() / 2;
  int fits = 0;
  for (size_t begin = 0; begin < records.size(); begin += 250) {
    const size_t end = std::min(records.size(), begin + 250);
    ASSERT_OK(projector->Process(std::vector<infra::LogRecord>(
        records.begin() + begin, records.begin() + end)));
    if (begin <= half && half < end) {
      // The population as of the middle of the year, then of its end.
      ASSERT_OK_AND_ASSIGN(
          auto population,
          MeasurePopulation(*store, sim.start + absl::Hours(24 * 180), {}));
      ASSERT_OK(store->PutPopulation(population));
      ASSERT_OK_AND_ASSIGN(int64_t refreshed, index.RefreshAll());
      EXPECT_GT(refreshed, 100);
      ++fits;
    }
  }
  ASSERT_OK_AND_ASSIGN(auto population,
                       MeasurePopulation(*store, sim.start + absl::Hours(24 * 365), {}));
  ASSERT_OK(store->PutPopulation(population));
  ASSERT_OK_AND_ASSIGN(int64_t refreshed, index.RefreshAll());
  EXPECT_EQ(refreshed, 300);
  EXPECT_EQ(fits, 1);

  const auto stored = StoredCounters(*store);
  EXPECT_EQ(stored, RebuiltCounters(*store, dir.Sub("fresh")));
  // 300 customers in each of the six dimensions.
  for (uint8_t dim = 1; dim <= 6; ++dim) {
    int64_t customers = 0;
    for (const auto& [key, values] : stored) {
      if (key[0] == 'c' && static_cast<uint8_t>(key[1]) == dim) {
        customers += values[0];
      }
    }
    EXPECT_EQ(customers, 300) << "dimension " << int{dim};
  }

  // Every standing is what a fresh evaluation gives now.
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(
      rocksdb::ReadOptions(), store->family(schema::Family::kCustomers)));
  int checked = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++checked) {
    store::v1::CustomerState state;
    ASSERT_TRUE(state.ParseFromArray(it->value().data(),
                                     static_cast<int>(it->value().size())));
    ASSERT_OK_AND_ASSIGN(auto standing, index.Get(state.customer_id()));
    ASSERT_TRUE(standing.has_value());
    EXPECT_EQ(standing->SerializeAsString(),
              index.Evaluate(state, *store->population()).SerializeAsString())
        << state.customer_id();
  }
  EXPECT_EQ(checked, 300);
}

}  // namespace
}  // namespace kehu::projections
