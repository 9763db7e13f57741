#include "infra/projection_store.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::infra {
namespace {

using testing::TempDir;

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

}  // namespace
}  // namespace kehu::infra
