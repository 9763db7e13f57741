#include "tests/bench/load_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kehu::bench {
namespace {

using ::testing::HasSubstr;

TEST(LoadReportTest, MedianIsTakenFigureByFigure) {
  Figures a, b, c;
  a.p50_us = 100;
  b.p50_us = 300;
  c.p50_us = 200;
  a.max_us = 9000;
  b.max_us = 1000;
  c.max_us = 2000;
  const Figures m = MedianOf({a, b, c});
  EXPECT_EQ(m.p50_us, 200);
  EXPECT_EQ(m.max_us, 2000);
  EXPECT_EQ(MedianOf({a, b}).p50_us, 200);
}

TEST(LoadReportTest, ErrorsAreReportedByCodeEverywhere) {
  LoadOptions options;
  options.call = CallKind::kListCustomers;
  options.rate = 500;
  options.label = "list key at_risk";
  RunResult run;
  run.calls = 10;
  run.ok = 7;
  run.errors_by_code[12] = 3;  // UNIMPLEMENTED
  for (int i = 0; i < 10; ++i) run.latency.Record(1000 * (i + 1));

  EXPECT_THAT(FormatRun(0, 1, run), HasSubstr("errors: UNIMPLEMENTED 3"));
  EXPECT_THAT(MarkdownRow(options, {run}),
              HasSubstr("| list key at_risk | 500/s |"));
  EXPECT_THAT(MarkdownRow(options, {run}), HasSubstr("3: UNIMPLEMENTED 3"));
  const std::string json = ToJson(options, {run}, absl::UnixEpoch());
  EXPECT_THAT(json, HasSubstr("\"errors_by_code\":{\"UNIMPLEMENTED\":3}"));
  EXPECT_THAT(json, HasSubstr("\"errors\":3.0"));
  EXPECT_THAT(json, HasSubstr("\"p50\":5.0"));
}

TEST(LoadReportTest, RequestsNeverSentAreSaidSo) {
  RunResult run;
  run.calls = 5;
  run.errors_by_code[4] = 5;  // DEADLINE_EXCEEDED
  run.unsent = 2;
  EXPECT_THAT(FormatRun(0, 1, run), HasSubstr("of them never sent"));
  EXPECT_THAT(ToJson(LoadOptions(), {run}, absl::UnixEpoch()),
              HasSubstr("\"unsent\":2"));
}

TEST(LoadReportTest, SaturationIsNamedWithItsConcurrency) {
  LoadOptions options;
  options.rate = 0;
  options.concurrency = 64;
  EXPECT_EQ(OfferedLoad(options), "saturation, 64 outstanding");
}

}  // namespace
}  // namespace kehu::bench
