// The replay's staging files: rows come back as appended, whatever range
// they went to; the sorts give key order; a file cut short is data loss.
#include "projections/replay_files.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/store_schema.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::projections {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;
namespace schema = infra::schema;

std::vector<std::string> Keys(const std::vector<StagingArea::Row>& rows) {
  std::vector<std::string> keys;
  for (const auto& row : rows) keys.emplace_back(row.key);
  return keys;
}

TEST(StagingAreaTest, RowsGoToTheirRangeAndComeBackAsAppended) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto area,
                       StagingArea::Create(dir.Sub("area"), {"", "m"}));
  EXPECT_EQ(area->RangeOf("a"), 0);
  EXPECT_EQ(area->RangeOf("m"), 1);
  EXPECT_EQ(area->RangeOf("z"), 1);
  {
    StagingArea::Writer writer(area.get());
    ASSERT_OK(writer.Add("q", "1"));
    ASSERT_OK(writer.Add("b", "2"));
    ASSERT_OK(writer.Add("n", ""));
    ASSERT_OK(writer.Flush());
  }
  StagingArea::Contents contents;
  std::vector<StagingArea::Row> rows;
  ASSERT_OK(area->Read(0, &contents, &rows));
  EXPECT_THAT(Keys(rows), ElementsAre("b"));
  EXPECT_EQ(rows[0].value, "2");
  ASSERT_OK(area->Read(1, &contents, &rows));
  EXPECT_THAT(Keys(rows), ElementsAre("q", "n"));
  SortRows(&rows);
  EXPECT_THAT(Keys(rows), ElementsAre("n", "q"));
  EXPECT_EQ(rows[1].value, "1");

  const std::string area_dir = dir.Sub("area");
  area.reset();
  EXPECT_FALSE(std::filesystem::exists(area_dir));
}

TEST(StagingAreaTest, AFileCutShortIsDataLoss) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto area, StagingArea::Create(dir.Sub("area"), {""}));
  StagingArea::Writer writer(area.get());
  ASSERT_OK(writer.Add("key", "value"));
  ASSERT_OK(writer.Flush());
  std::filesystem::resize_file(dir.Sub("area") + "/range-0", 10);
  StagingArea::Contents contents;
  std::vector<StagingArea::Row> rows;
  EXPECT_EQ(area->Read(0, &contents, &rows).code(), absl::StatusCode::kDataLoss);
}

TEST(SortRowsTest, KeysThatShareTheirFirst24BytesAreComparedWhole) {
  // Ties on the first eight bytes (decided by the next eight), on sixteen
  // (decided by the next eight), on all 24 (decided by the whole key), and
  // short keys that tie with their zero padding.
  const std::string head = "abcdefghijklmnopqrstuvwx";
  std::vector<std::string> keys = {head + "Z",
                                   head,
                                   head + "A",
                                   "abcdefghB",
                                   "abcdefgh",
                                   "abcdefghA",
                                   "abc",
                                   std::string("abc\0", 4),
                                   "abcdefghijklmnoB",
                                   "b",
                                   "abcdefghijklmnopA"};
  std::vector<std::string> values;
  for (const auto& key : keys) values.push_back(key + "!");
  std::vector<StagingArea::Row> rows;
  for (size_t i = 0; i < keys.size(); ++i) rows.push_back({keys[i], values[i]});
  SortRows(&rows);
  EXPECT_THAT(Keys(rows), ElementsAre("abc", std::string("abc\0", 4),
                                      "abcdefgh", "abcdefghA", "abcdefghB",
                                      "abcdefghijklmnoB", "abcdefghijklmnopA",
                                      head, head + "A", head + "Z", "b"));
  for (const auto& row : rows) EXPECT_EQ(row.value, std::string(row.key) + "!");
}

TEST(SortTimelineRowsTest, CustomersInKeyOrderEachInLogOrder) {
  // Appended as stage one does: each customer's rows in log order, the
  // customers interleaved. "C10" sorts after "C9": its id is longer.
  const std::vector<std::string> keys = {
      schema::TimelineKey("C9", 3), schema::TimelineKey("C10", 1),
      schema::TimelineKey("C9", 7), schema::TimelineKey("C2", 2),
      schema::TimelineKey("C10", 4)};
  std::vector<StagingArea::Row> rows;
  for (const auto& key : keys) rows.push_back({key, ""});
  std::vector<TimelineRow> sorted;
  ASSERT_OK(SortTimelineRows(rows, &sorted));
  std::vector<std::string> order;
  for (const auto& row : sorted) {
    order.push_back(std::string(row.customer_id) + "@" +
                    std::to_string(row.offset));
  }
  EXPECT_THAT(order, ElementsAre("C2@2", "C9@3", "C9@7", "C10@1", "C10@4"));

  // A customer's rows out of log order are sorted all the same.
  std::swap(rows[0], rows[2]);
  ASSERT_OK(SortTimelineRows(rows, &sorted));
  order.clear();
  for (const auto& row : sorted) {
    order.push_back(std::string(row.customer_id) + "@" +
                    std::to_string(row.offset));
  }
  EXPECT_THAT(order, ElementsAre("C2@2", "C9@3", "C9@7", "C10@1", "C10@4"));

  rows.push_back({"not a timeline key", ""});
  EXPECT_EQ(SortTimelineRows(rows, &sorted).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace kehu::projections
