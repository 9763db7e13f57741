#include "tests/bench/query_load_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kehu::bench {
namespace {

using ::testing::HasSubstr;

TEST(CustomerIdFormatTest, WritesTheSimulatorsIds) {
  ASSERT_OK_AND_ASSIGN(CustomerIdFormat f, CustomerIdFormat::Parse("C%06u"));
  EXPECT_EQ(f.Format(1), "C000001");
  EXPECT_EQ(f.Format(42), "C000042");
  EXPECT_EQ(f.Format(1000000), "C1000000");
}

TEST(CustomerIdFormatTest, KeepsLiteralTextAndPercentSigns) {
  ASSERT_OK_AND_ASSIGN(CustomerIdFormat f,
                       CustomerIdFormat::Parse("cust-%d-100%%"));
  EXPECT_EQ(f.Format(7), "cust-7-100%");
  ASSERT_OK_AND_ASSIGN(CustomerIdFormat spaced, CustomerIdFormat::Parse("%4i"));
  EXPECT_EQ(spaced.Format(7), "   7");
}

TEST(CustomerIdFormatTest, RejectsPatternsThatAreNotOneIntegerConversion) {
  for (const char* bad : {"C", "C%s", "%d%d", "C%06", "%25d", "C%x"}) {
    EXPECT_FALSE(CustomerIdFormat::Parse(bad).ok()) << bad;
  }
  EXPECT_THAT(std::string(CustomerIdFormat::Parse("C%s").status().message()),
              HasSubstr("C%06u"));
}

TEST(LoopbackTargetTest, AcceptsLoopbackHosts) {
  for (const char* ok :
       {"127.0.0.1:50051", "127.1.2.3:1", "localhost:8080", "[::1]:65535"}) {
    EXPECT_OK(CheckLoopbackTarget(ok)) << ok;
  }
}

TEST(LoopbackTargetTest, RefusesEverythingElse) {
  for (const char* bad :
       {"10.0.0.1:50051", "example.com:443", "0.0.0.0:50051", "[::]:50051",
        "128.0.0.1:1", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000",
        "127.0.0.1:+80", "dns:///example.com:443", "localhost.:80", ""}) {
    EXPECT_FALSE(CheckLoopbackTarget(bad).ok()) << bad;
  }
  EXPECT_THAT(std::string(CheckLoopbackTarget("10.0.0.1:1").message()),
              HasSubstr("loopback"));
}

TEST(EnumNameTest, ParsesShortLowerCaseNames) {
  ASSERT_OK_AND_ASSIGN(auto tier, ParsePyramidTier("key"));
  EXPECT_EQ(tier, query::v1::PYRAMID_TIER_KEY);
  ASSERT_OK_AND_ASSIGN(auto stage, ParseLifecycleStage("at-risk"));
  EXPECT_EQ(stage, query::v1::LIFECYCLE_STAGE_AT_RISK);
  ASSERT_OK_AND_ASSIGN(auto dim, ParseDimension("lifecycle_stage"));
  EXPECT_EQ(dim, query::v1::DIMENSION_LIFECYCLE_STAGE);
}

TEST(EnumNameTest, UnknownOrUnspecifiedNameListsTheKnownOnes) {
  auto bad = ParsePyramidTier("gold");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("key, potential, regular, one_time, inactive"));
  EXPECT_FALSE(ParseLifecycleStage("unspecified").ok());
}

}  // namespace
}  // namespace kehu::bench
