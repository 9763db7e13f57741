#include "producers/online_retail_import.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/event_validation.h"
#include "tests/testing/shared_data.h"
#include "tests/testing/status_matchers.h"

namespace kehu::producers {
namespace {

using events::v1::Event;
using ::testing::HasSubstr;

struct Imported {
  std::vector<Event> events;
  std::vector<std::pair<int64_t, std::string>> rejects;
  OnlineRetailStats stats;
};

Imported Import(std::istream* in) {
  Imported out;
  OnlineRetailImport import;
  EXPECT_OK(import.Run(
      in,
      [&](const Event& e) {
        auto invalid = infra::ValidateEvent(e);
        EXPECT_FALSE(invalid.has_value())
            << e.event_id() << ": " << invalid->field << ": "
            << invalid->reason;
        out.events.push_back(e);
        return absl::OkStatus();
      },
      [&](int64_t line, const std::string& reason) {
        out.rejects.emplace_back(line, reason);
      }));
  out.stats = import.stats();
  return out;
}

constexpr char kSample[] =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,"
    "Country\n"
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 "
    "08:26:00,2.55,17850,United Kingdom\n"
    "536365,71053,\"LANTERN, WHITE\",6,2010-12-01 08:26:00,3.39,17850,United "
    "Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United "
    "Kingdom\n"
    "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,17850,United Kingdom\n"
    "C536380,71053,\"LANTERN, WHITE\",-2,2010-12-01 09:45:00,3.39,17850,United "
    "Kingdom\n";

TEST(OnlineRetailImportTest, InvoicesBecomeOrdersAndCancellationsReturns) {
  std::istringstream in(kSample);
  Imported got = Import(&in);
  ASSERT_EQ(got.events.size(), 4u);
  EXPECT_EQ(got.events[0].customer_registered().region(), "United Kingdom");
  const auto& order = got.events[1].order_placed();
  EXPECT_EQ(order.order_id(), "536365");
  EXPECT_EQ(order.currency(), "GBP");
  ASSERT_EQ(order.lines_size(), 2);
  EXPECT_EQ(order.lines(0).unit_price_minor(), 255);
  EXPECT_EQ(order.lines(1).sku(), "71053");
  EXPECT_EQ(got.events[1].occurred_at().seconds(), 1291191960);  // 08:26 UTC

  // The discount line matches no invoice: a refund on the credit note.
  const auto& discount = got.events[2].order_returned();
  EXPECT_EQ(discount.order_id(), "C536379");
  EXPECT_EQ(discount.refund().minor_units(), 2750);
  // The lantern return matches invoice 536365.
  const auto& lantern = got.events[3].order_returned();
  EXPECT_EQ(lantern.order_id(), "536365");
  EXPECT_EQ(lantern.lines(0).quantity(), 2);
  EXPECT_EQ(lantern.refund().minor_units(), 678);
}

TEST(OnlineRetailImportTest, LineWithoutCustomerIsRejectedWithItsLineNumber) {
  std::istringstream in(kSample);
  Imported got = Import(&in);
  ASSERT_EQ(got.rejects.size(), 1u);
  EXPECT_EQ(got.rejects[0].first, 4);
  EXPECT_THAT(got.rejects[0].second, HasSubstr("CustomerID is empty"));
  EXPECT_EQ(got.stats.rejected_lines, 1);
}

TEST(OnlineRetailImportTest, WrongHeaderIsAnError) {
  std::istringstream in("a,b,c\n1,2,3\n");
  OnlineRetailImport import;
  absl::Status s = import.Run(
      &in, [](const Event&) { return absl::OkStatus(); },
      [](int64_t, const std::string&) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("line 1"));
}

TEST(OnlineRetailImportTest, CsvQuotesMayHoldCommasAndQuotes) {
  std::vector<std::string> f;
  ASSERT_TRUE(SplitCsvLine("a,\"b, \"\"c\"\"\",d", &f));
  EXPECT_THAT(f, ::testing::ElementsAre("a", "b, \"c\"", "d"));
  EXPECT_FALSE(SplitCsvLine("a,\"b", &f));
}

// The whole published file: every line is either imported or rejected with
// a reason, and the counts match the data set's provenance notes.
TEST(OnlineRetailImportTest, RealDataSetImportsEveryAttributableLine) {
  const std::string path =
      testing::SharedDataPath("online_retail/online_retail.csv.gz");
  if (!std::ifstream(path).good()) GTEST_SKIP() << "no data set at " << path;
  FILE* pipe = popen(("gzip -dc '" + path + "'").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string csv;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) csv.append(buf, n);
  ASSERT_EQ(pclose(pipe), 0);
  std::istringstream in(std::move(csv));
  Imported got = Import(&in);
  EXPECT_EQ(got.stats.lines, 541909);
  int64_t no_customer = 0;
  for (const auto& [line, reason] : got.rejects) {
    if (reason.find("CustomerID is empty") != std::string::npos) ++no_customer;
  }
  EXPECT_EQ(no_customer, 135080);
  EXPECT_EQ(got.stats.customers, 4372);
  EXPECT_EQ(got.stats.orders, 18536);
  int64_t order_lines = 0;
  for (const auto& e : got.events) order_lines += e.order_placed().lines_size();
  EXPECT_EQ(order_lines, 397924);
}

}  // namespace
}  // namespace kehu::producers
