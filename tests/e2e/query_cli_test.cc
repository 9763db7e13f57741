// `kehu query list|summary|timeline|satisfaction|explain` against a real `kehu
// serve` on a loopback port, loaded with a small simulated workload and
// measured with `kehu fit`: what an operator types, and what a script
// reads with --json.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kehu {
namespace {

using ::testing::HasSubstr;
using testing::Finished;
using testing::RunToEnd;
using testing::Subprocess;
using testing::TempDir;

class QueryCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new Subprocess({KEHU_BINARY, "serve", "--data",
                              dir_->Sub("data"), "--listen", "127.0.0.1:0",
                              "--fit-interval-hours", "0"});
    const std::string line = server_->ReadStderrUntil("listening on ");
    ASSERT_THAT(line, HasSubstr("127.0.0.1:")) << server_->stderr_text();
    const size_t begin = line.find("listening on ") + 13;
    address_ = new std::string(line.substr(begin, line.find(',', begin) - begin));

    Finished sim = RunToEnd({KEHU_BINARY, "simulate", "--customers", "300",
                             "--seed", "5", "-o", dir_->Sub("events.ndjson")});
    ASSERT_EQ(sim.code, 0) << sim.err;
    Finished produce = RunToEnd({KEHU_BINARY, "produce",
                                 dir_->Sub("events.ndjson"), "--server",
                                 *address_});
    ASSERT_EQ(produce.code, 0) << produce.err;
    Finished progress = RunToEnd({KEHU_BINARY, "query", "progress", "--wait",
                                  "--timeout", "120", "--server", *address_});
    ASSERT_EQ(progress.code, 0) << progress.err;
    Finished fit = RunToEnd({KEHU_BINARY, "fit", "--as-of", "2026-01-01",
                             "--server", *address_});
    ASSERT_EQ(fit.code, 0) << fit.err;
  }

  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    delete address_;
  }

  static Finished Query(std::vector<std::string> args) {
    std::vector<std::string> argv = {KEHU_BINARY, "query"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--server");
    argv.push_back(*address_);
    return RunToEnd(argv);
  }

  static TempDir* dir_;
  static Subprocess* server_;
  static std::string* address_;
};

TempDir* QueryCliTest::dir_ = nullptr;
Subprocess* QueryCliTest::server_ = nullptr;
std::string* QueryCliTest::address_ = nullptr;

// Nothing is appended meanwhile: after the first line, whose rates have no
// line before them, both rates are zero and the totals stay put.
TEST_F(QueryCliTest, ProgressWatchPrintsThroughputLineByLine) {
  std::ifstream events(dir_->Sub("events.ndjson"));
  const std::string total =
      std::to_string(std::count(std::istreambuf_iterator<char>(events),
                                std::istreambuf_iterator<char>(), '\n'));
  Finished table =
      Query({"progress", "--watch", "--interval", "0.05", "--count", "3"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out,
              ::testing::MatchesRegex(
                  "time +appended/s +read/s +lag +folded +duplicates +dead "
                  "letters\n"
                  "[0-9:]{8} +- +- +0 +" +
                  total +
                  " +0 +0\n"
                  "([0-9:]{8} +0\\.0 +0\\.0 +0 +" +
                  total + " +0 +0\n){2}"));

  Finished json = Query(
      {"progress", "--watch", "--json", "--interval", "0.05", "--count", "2"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, ::testing::MatchesRegex(
                            "\\{\"time\": \"[-0-9T:]+Z\", "
                            "\"appended_per_second\": null, .*\"folded\": " +
                            total +
                            ", .*\\}\n"
                            "\\{.*\"appended_per_second\": 0\\.0, "
                            "\"read_per_second\": 0\\.0, \"lag\": 0, .*\\}\n"));

  Finished bad = Query({"progress", "--watch", "--interval", "0"});
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.err, HasSubstr("--interval"));
}

TEST_F(QueryCliTest, ListShowsASegmentAsATable) {
  Finished run = Query({"list", "--tier", "key,potential", "--order",
                        "historical-value", "-n", "5"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("customer"));
  EXPECT_THAT(run.out, HasSubstr("historical value"));
  EXPECT_THAT(run.out, HasSubstr("5 customers"));
  EXPECT_THAT(run.out, HasSubstr("more: --page-token "));
}

TEST_F(QueryCliTest, ListAllFollowsEveryPage) {
  Finished run = Query({"list", "--all", "-n", "7", "--json"});
  ASSERT_EQ(run.code, 0) << run.err;
  // Every one of the 300 customers, once.
  size_t count = 0;
  for (size_t at = run.out.find("\"customer_id\""); at != std::string::npos;
       at = run.out.find("\"customer_id\"", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 300u);
}

TEST_F(QueryCliTest, ListNamesAnUnknownStage) {
  Finished run = Query({"list", "--stage", "sleepy"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("--stage: unknown \"sleepy\""));
  EXPECT_THAT(run.err, HasSubstr("churned"));
}

TEST_F(QueryCliTest, ListNamesABadRange) {
  Finished run = Query({"list", "--churn-risk", "high"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("--churn-risk: expected MIN..MAX"));
}

TEST_F(QueryCliTest, SummaryShowsThePyramidAndItsShares) {
  Finished run = Query({"summary", "--by", "tier", "--from", "2025-01-01",
                        "--to", "2025-12-31"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("key "));
  EXPECT_THAT(run.out, HasSubstr("potential "));
  EXPECT_THAT(run.out, HasSubstr("lifecycle transitions 2025-01 .. 2025-12"));
  EXPECT_THAT(run.out, HasSubstr("potential  -> new"));

  Finished json = Query({"summary", "--by", "pareto", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"customers\": \"300\""));
}

TEST_F(QueryCliTest, TimelineShowsTheEventsNewestFirst) {
  Finished run = Query({"timeline", "C000001", "-n", "3"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("more: --page-token "));
  Finished orders =
      Query({"timeline", "C000001", "--type", "order_placed", "--json"});
  ASSERT_EQ(orders.code, 0) << orders.err;
  EXPECT_THAT(orders.out, HasSubstr("\"order_placed\""));
  EXPECT_THAT(orders.out, ::testing::Not(HasSubstr("\"customer_registered\"")));

  Finished bad = Query({"timeline", "C000001", "--type", "order_shipped"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("event_types[0]: unknown event type"));
}

TEST_F(QueryCliTest, SatisfactionShowsOneRowPerMonth) {
  Finished run = Query({"satisfaction", "--from", "2025-01-01", "--to",
                        "2025-12-31"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("2025-01 all"));
  EXPECT_THAT(run.out, HasSubstr("2025-12 all"));

  Finished split = Query({"satisfaction", "--split", "relationship", "--from",
                          "2025-06-01", "--to", "2025-06-30"});
  ASSERT_EQ(split.code, 0) << split.err;
  EXPECT_THAT(split.out, HasSubstr("2025-06 business"));
}

// The first "customer_id" value of a JSON text.
std::string FirstCustomerId(const std::string& json) {
  const std::string key = "\"customer_id\": \"";
  const size_t begin = json.find(key);
  if (begin == std::string::npos) return "";
  const size_t start = begin + key.size();
  return json.substr(start, json.find('"', start) - start);
}

TEST_F(QueryCliTest, ExplainShowsWhyAKeyCustomerIsKey) {
  Finished list = Query({"list", "--tier", "key", "-n", "1", "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  const std::string id = FirstCustomerId(list.out);
  ASSERT_FALSE(id.empty()) << list.out;

  Finished run = Query({"explain", id, "--view", "tier", "--as-of",
                        "2026-01-01"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("customer " + id + ": pyramid tier key\n"));
  EXPECT_THAT(run.out,
              HasSubstr("as of 2026-01-01, population measured 2026-01-01"));
  EXPECT_THAT(run.out, HasSubstr("trailing-year margin"));
  EXPECT_THAT(run.out, HasSubstr(" ≥ key cutoff "));
  EXPECT_THAT(run.out,
              HasSubstr("(population measured 2026-01-01): holds"));
  EXPECT_THAT(run.out, HasSubstr("order_placed"));

  Finished json = Query({"explain", id, "--view", "tier", "--as-of",
                         "2026-01-01", "-n", "2", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"value\": \"key\""));
  EXPECT_THAT(json.out, HasSubstr("\"type\": \"order_placed\""));
  EXPECT_THAT(json.out, HasSubstr("\"source\": \"THRESHOLD_SOURCE_POPULATION\""));
}

TEST_F(QueryCliTest, ExplainShowsALifecycleStage) {
  Finished run = Query({"explain", "C000001", "--view", "stage", "--as-of",
                        "2026-01-01"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("customer C000001: lifecycle stage "));
  EXPECT_THAT(run.out, HasSubstr("no   potential"));
  EXPECT_THAT(run.out, HasSubstr("days since the last purchase"));
}

TEST_F(QueryCliTest, ExplainNamesWhatIsWrong) {
  Finished view = Query({"explain", "C000001", "--view", "mood"});
  EXPECT_NE(view.code, 0);
  EXPECT_THAT(view.err, HasSubstr("--view"));

  Finished day = Query({"explain", "C000001", "--as-of", "2026-13-01"});
  EXPECT_EQ(day.code, 1);
  EXPECT_THAT(day.err, HasSubstr("kehu query explain: --as-of: expected YYYY-MM-DD"));

  Finished nobody = Query({"explain", "nobody"});
  EXPECT_EQ(nobody.code, 1);
  EXPECT_THAT(nobody.err, HasSubstr("kehu query explain: customer nobody not found"));
}

}  // namespace
}  // namespace kehu
