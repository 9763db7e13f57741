#include "infra/app/audit_trail.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using admin::v1::AuditEntry;
using ::testing::HasSubstr;

AuditEntry Entry(const std::string& action, int64_t seconds) {
  AuditEntry entry;
  entry.set_action(action);
  entry.set_caller("token ops");
  entry.mutable_time()->set_seconds(seconds);
  (*entry.mutable_arguments())["as_of"] = "2026-01-01";
  entry.set_outcome("ok");
  return entry;
}

TEST(AuditTrailTest, EntriesComeBackNewestFirstAndLimited) {
  testing::TempDir dir;
  AuditTrail trail(dir.path());
  auto empty = trail.Newest(10);
  ASSERT_OK(empty.status());
  EXPECT_TRUE(empty->empty());

  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(trail.Record(Entry("fit" + std::to_string(i), 1000 + i)));
  }
  auto newest = trail.Newest(3);
  ASSERT_OK(newest.status());
  ASSERT_EQ(newest->size(), 3u);
  EXPECT_EQ((*newest)[0].action(), "fit4");
  EXPECT_EQ((*newest)[2].action(), "fit2");
  EXPECT_EQ((*newest)[0].time().seconds(), 1004);
  EXPECT_EQ((*newest)[0].arguments().at("as_of"), "2026-01-01");
  EXPECT_EQ((*newest)[0].caller(), "token ops");
}

TEST(AuditTrailTest, RecordStampsTheTimeWhenUnset) {
  testing::TempDir dir;
  AuditTrail trail(dir.path());
  AuditEntry entry;
  entry.set_action("switch");
  const int64_t before = absl::ToUnixSeconds(absl::Now());
  ASSERT_OK(trail.Record(entry));
  auto newest = trail.Newest(1);
  ASSERT_OK(newest.status());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_GE((*newest)[0].time().seconds(), before);
}

// A crash while a line was written leaves it without its newline: it is
// skipped. Any other line that is no entry is reported with its number.
TEST(AuditTrailTest, ACutLastLineIsSkippedAndABadLineNamed) {
  testing::TempDir dir;
  AuditTrail trail(dir.path());
  ASSERT_OK(trail.Record(Entry("fit", 1)));
  {
    std::ofstream out(trail.path(), std::ios::app);
    out << "{\"action\": \"swi";
  }
  auto newest = trail.Newest(10);
  ASSERT_OK(newest.status());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].action(), "fit");

  {
    std::ofstream out(trail.path(), std::ios::app);
    out << "\n";
  }
  ASSERT_OK(trail.Record(Entry("rebuild", 2)));
  auto broken = trail.Newest(10);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(broken.status().message(), HasSubstr("line 2"));
}

}  // namespace
}  // namespace kehu::app
