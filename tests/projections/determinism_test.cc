// Replaying the same events gives byte-identical stores and views: the
// property audits and rebuilds rely on.
#include <map>

#include "gtest/gtest.h"
#include "infra/projection_store.h"
#include "infra/rocks_status.h"
#include "kehu/query/v1/query.pb.h"
#include "producers/simulator.h"
#include "projections/partition_projector.h"
#include "projections/population.h"
#include "query/customer_analytics.h"
#include "query/customer_view.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::projections {
namespace {

using infra::schema::Family;

// Every row of every column family, by family and key.
std::map<std::pair<int, std::string>, std::string> Contents(
    const infra::ProjectionStore& store) {
  std::map<std::pair<int, std::string>, std::string> rows;
  for (int f = 0; f < infra::schema::kFamilyCount; ++f) {
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
        rocksdb::ReadOptions(), store.family(static_cast<Family>(f))));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rows[{f, it->key().ToString()}] = it->value().ToString();
    }
    EXPECT_TRUE(it->status().ok());
  }
  return rows;
}

// Folds the simulated events into a fresh store in batches of `batch`.
std::unique_ptr<infra::ProjectionStore> Replay(
    const std::string& dir, const std::vector<events::v1::Event>& events,
    size_t batch) {
  auto store =
      infra::ProjectionStore::Open(dir, infra::ProjectionStoreOptions());
  EXPECT_OK(store);
  auto projector = PartitionProjector::Create(store->get(), 0);
  EXPECT_OK(projector);
  std::vector<infra::LogRecord> records;
  int64_t offset = 0;
  for (const auto& e : events) {
    records.push_back({0, offset++, e.customer_id(), e.SerializeAsString()});
    if (records.size() == batch) {
      EXPECT_OK((*projector)->Process(records));
      records.clear();
    }
  }
  EXPECT_OK((*projector)->Process(records));
  return std::move(*store);
}

TEST(DeterminismTest, ReplayingTheSameEventsGivesByteIdenticalStoresAndViews) {
  producers::SimulatorOptions sim;
  sim.customers = 300;
  sim.days = 400;
  sim.seed = 11;
  std::vector<events::v1::Event> events;
  ASSERT_OK(producers::Simulator(sim).Run([&](const events::v1::Event& e) {
    events.push_back(e);
    return absl::OkStatus();
  }));
  // A re-sent slice, folded as duplicates in both replays.
  events.insert(events.end(), events.begin() + 50, events.begin() + 80);

  testing::TempDir dir;
  // Different batch sizes: how events are grouped into commits must not
  // show in the result.
  auto first = Replay(dir.Sub("a"), events, 1000);
  auto second = Replay(dir.Sub("b"), events, 7);
  const auto a = Contents(*first);
  const auto b = Contents(*second);
  ASSERT_GT(a.size(), events.size());
  EXPECT_TRUE(a == b);

  // The population and every view computed from it agree too.
  const absl::Time as_of =
      absl::FromUnixSeconds(1735689600) + absl::Hours(24 * 400);
  ASSERT_OK_AND_ASSIGN(auto pa, MeasurePopulation(*first, as_of));
  ASSERT_OK_AND_ASSIGN(auto pb, MeasurePopulation(*second, as_of));
  EXPECT_EQ(pa.SerializeAsString(), pb.SerializeAsString());
  for (const auto& [key, value] : a) {
    if (key.first != static_cast<int>(Family::kCustomers)) continue;
    store::v1::CustomerState state;
    ASSERT_TRUE(state.ParseFromString(value));
    query::v1::CustomerView va = query::ToCustomerView(state);
    query::v1::CustomerView vb = query::ToCustomerView(state);
    query::EvaluateCustomer(state, as_of, "EUR", pa, query::AnalyticsConfig(),
                            &va);
    query::EvaluateCustomer(state, as_of, "EUR", pb, query::AnalyticsConfig(),
                            &vb);
    ASSERT_EQ(va.SerializeAsString(), vb.SerializeAsString()) << key.second;
  }
}

}  // namespace
}  // namespace kehu::projections
