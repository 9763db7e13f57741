#include "infra/app/admin_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/partition_projector.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using namespace kehu::testing;  // NOLINT: event builders

TEST(AdminServiceTest, FitStoresThePopulationQueriesUse) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store,
                       infra::ProjectionStore::Open(
                           dir.Sub("store"), infra::ProjectionStoreOptions()));
  ASSERT_OK_AND_ASSIGN(auto projector,
                       projections::PartitionProjector::Create(store.get(), 0));
  std::vector<infra::LogRecord> records;
  int64_t offset = 0;
  for (const auto& e : {Order("e1", "A", 1, "O1", {{"A", 1, 100}}),
                        Order("e2", "B", 2, "O2", {{"A", 1, 300}}),
                        Order("e3", "B", 9, "O3", {{"A", 1, 300}})}) {
    records.push_back({0, offset++, e.customer_id(), e.SerializeAsString()});
  }
  ASSERT_OK(projector->Process(records));

  const absl::Time now =
      absl::FromUnixSeconds(1735689600) + absl::Hours(24 * 30);
  AdminService admin(store.get(), projections::PopulationOptions(),
                     [now] { return now; });
  grpc::ServerContext context;
  admin::v1::FitRequest request;
  admin::v1::FitResponse response;
  ASSERT_TRUE(admin.Fit(&context, &request, &response).ok());
  EXPECT_EQ(response.as_of().seconds(), absl::ToUnixSeconds(now));
  EXPECT_EQ(response.purchasing_customers(), 2);
  EXPECT_EQ(response.active_customers(), 2);
  EXPECT_THAT(response.log_positions(), ::testing::ElementsAre(3));
  // B (600 of margin) is the key tier; the cut points come along.
  EXPECT_EQ(response.pyramid_key_customers(), 1);
  EXPECT_EQ(response.pyramid_key_cutoff_minor(), 600);
  EXPECT_EQ(response.frequency_cuts_size(), 4);
  EXPECT_EQ(response.currency(), "EUR");

  ASSERT_OK_AND_ASSIGN(auto stored, store->GetPopulation());
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->as_of_us(), absl::ToUnixMicros(now));
  EXPECT_EQ(stored->purchasing_customers(), 2);
}

TEST(AdminServiceTest, FitInTheFutureIsRefusedNamingAsOf) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store,
                       infra::ProjectionStore::Open(
                           dir.Sub("store"), infra::ProjectionStoreOptions()));
  const absl::Time now = absl::FromUnixSeconds(1735689600);
  AdminService admin(store.get(), projections::PopulationOptions(),
                     [now] { return now; });
  grpc::ServerContext context;
  admin::v1::FitRequest request;
  request.mutable_as_of()->set_seconds(1735689600 + 86400);
  admin::v1::FitResponse response;
  grpc::Status s = admin.Fit(&context, &request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("as_of:"));
  ASSERT_OK_AND_ASSIGN(auto stored, store->GetPopulation());
  EXPECT_FALSE(stored.has_value());
}

}  // namespace
}  // namespace kehu::app
