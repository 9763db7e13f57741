#include "producers/cdnow_import.h"

#include <set>
#include <sstream>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"
#include "infra/event_validation.h"
#include "tests/testing/shared_data.h"
#include "tests/testing/status_matchers.h"

namespace kehu::producers {
namespace {

using events::v1::Event;

std::string CdnowPath(const std::string& file) {
  return testing::SharedDataPath("cdnow/" + file);
}

// The net value of an order, as the fold computes it.
int64_t NetMinor(const Event& event) {
  int64_t net = 0;
  for (const auto& line : event.order_placed().lines()) {
    net += line.quantity() * line.unit_price_minor() - line.discount_minor();
  }
  return net;
}

absl::StatusOr<std::vector<Event>> ReadText(const std::string& text,
                                            CdnowLayout layout) {
  std::istringstream in(text);
  return ReadCdnowEvents(&in, layout);
}

TEST(CdnowImportTest, MasterFileImportsEveryRowAsAValidOrder) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<Event> events,
      ReadCdnowFile(CdnowPath("CDNOW_master.txt"), CdnowLayout::kMaster));
  EXPECT_EQ(events.size(), 69659u);
  std::set<std::string> customers;
  std::set<std::string> event_ids;
  int64_t total_cents = 0;
  int64_t zero_value_orders = 0;
  for (const Event& e : events) {
    const auto invalid = infra::ValidateEvent(e);
    ASSERT_FALSE(invalid.has_value())
        << e.event_id() << ": " << invalid->field << ": " << invalid->reason;
    customers.insert(e.customer_id());
    event_ids.insert(e.event_id());
    total_cents += NetMinor(e);
    if (NetMinor(e) == 0) ++zero_value_orders;
  }
  EXPECT_EQ(customers.size(), 23570u);
  EXPECT_EQ(event_ids.size(), events.size()) << "event ids must be unique";
  // The file's dollar_value column sums to $2,500,315.63: not a cent lost
  // to the unit-price rounding.
  EXPECT_EQ(total_cents, 250031563);
  EXPECT_EQ(zero_value_orders, 80);
}

TEST(CdnowImportTest, ARowBecomesAnOrderOfItsCdsAtItsDate) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<Event> events,
      ReadText("customer_id date number_of_cds dollar_value\r\n"
               " 00001 19970101  1   11.77\r\n"
               " 00007 19970101  2   28.74\r\n"
               " 00007 19971011  7   97.43\r\n",
               CdnowLayout::kMaster));
  ASSERT_EQ(events.size(), 3u);
  const Event& first = events[0];
  EXPECT_EQ(first.event_id(), "cdnow-00001-19970101-1");
  EXPECT_EQ(first.customer_id(), "cdnow-00001");
  EXPECT_EQ(first.occurred_at().seconds(), 852076800);  // 1997-01-01 UTC
  EXPECT_EQ(first.occurred_at().nanos(), 0);
  EXPECT_EQ(first.source(), "cdnow");
  const auto& order = first.order_placed();
  EXPECT_EQ(order.order_id(), first.event_id());
  EXPECT_EQ(order.currency(), "USD");
  ASSERT_EQ(order.lines_size(), 1);
  EXPECT_EQ(order.lines(0).sku(), "cd");
  EXPECT_EQ(order.lines(0).category(), "music");
  EXPECT_EQ(order.lines(0).quantity(), 1);
  EXPECT_EQ(order.lines(0).unit_price_minor(), 1177);
  EXPECT_EQ(order.lines(0).discount_minor(), 0);
  EXPECT_FALSE(order.lines(0).has_unit_cost_minor());

  // 97.43 for 7 CDs: 1392 a CD (rounded up) less 1 cent, exactly 9743.
  const auto& line = events[2].order_placed().lines(0);
  EXPECT_EQ(line.quantity(), 7);
  EXPECT_EQ(line.unit_price_minor(), 1392);
  EXPECT_EQ(line.discount_minor(), 1);
  EXPECT_EQ(NetMinor(events[2]), 9743);
}

TEST(CdnowImportTest, RowsOfOneCustomerAndDayGetDistinctIds) {
  ASSERT_OK_AND_ASSIGN(std::vector<Event> events,
                       ReadText(" 00004 0001 19970101  2   29.33\r\n"
                                " 00004 0001 19970101  1   9.50\r\n"
                                " 00005 0002 19970101  1   0.00\r\n",
                                CdnowLayout::kSample));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event_id(), "cdnow-00004-19970101-1");
  EXPECT_EQ(events[1].event_id(), "cdnow-00004-19970101-2");
  EXPECT_EQ(events[2].event_id(), "cdnow-00005-19970101-1");
  // A zero-value row is a real (free) order, kept.
  EXPECT_EQ(NetMinor(events[2]), 0);
  EXPECT_FALSE(infra::ValidateEvent(events[2]).has_value());
}

TEST(CdnowImportTest, SampleEventsAreTheMastersEventsOfTheSameCustomers) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<Event> master,
      ReadCdnowFile(CdnowPath("CDNOW_master.txt"), CdnowLayout::kMaster));
  ASSERT_OK_AND_ASSIGN(
      std::vector<Event> sample,
      ReadCdnowFile(CdnowPath("CDNOW_sample.txt"), CdnowLayout::kSample));
  EXPECT_EQ(sample.size(), 6919u);
  absl::flat_hash_map<std::string, const Event*> by_id;
  for (const Event& e : master) by_id[e.event_id()] = &e;
  std::set<std::string> customers;
  for (const Event& e : sample) {
    customers.insert(e.customer_id());
    auto it = by_id.find(e.event_id());
    ASSERT_NE(it, by_id.end()) << e.event_id();
    EXPECT_EQ(it->second->SerializeAsString(), e.SerializeAsString())
        << e.event_id();
  }
  EXPECT_EQ(customers.size(), 2357u);
}

TEST(CdnowImportTest, AMalformedRowIsReportedWithItsLineAndColumn) {
  std::istringstream in(
      "customer_id date number_of_cds dollar_value\r\n"
      " 00001 19970101  1   11.77\r\n"
      "\r\n"
      " 00002 19970112  1   12.0x\r\n"
      " 00003 19970230  1   12.00\r\n"
      " 00004 19970101  0   12.00\r\n"
      " 00005 19970101  1\r\n"
      " 00006 19970101  1   -3.00\r\n"
      " 00007 19970101  1   3.00\r\n");
  CdnowReader reader(&in, CdnowLayout::kMaster);
  Event event;
  ASSERT_OK_AND_ASSIGN(bool got, reader.Next(&event));
  EXPECT_TRUE(got);

  auto expect_error = [&](const std::string& where) {
    absl::StatusOr<bool> next = reader.Next(&event);
    ASSERT_FALSE(next.ok()) << "expected an error at " << where;
    EXPECT_EQ(next.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(next.status().message()).find(where),
              std::string::npos)
        << next.status();
  };
  expect_error("line 4: column 4 (dollar_value)");
  expect_error("line 5: column 2 (date)");
  expect_error("line 6: column 3 (number_of_cds)");
  expect_error("line 7: expected 4 columns");
  expect_error("line 8: column 4 (dollar_value)");
  // The reader moved past the bad rows.
  ASSERT_OK_AND_ASSIGN(got, reader.Next(&event));
  EXPECT_TRUE(got);
  EXPECT_EQ(event.customer_id(), "cdnow-00007");
  ASSERT_OK_AND_ASSIGN(got, reader.Next(&event));
  EXPECT_FALSE(got);
}

TEST(CdnowImportTest, ReadingAFileStopsAtTheFirstBadRow) {
  absl::StatusOr<std::vector<Event>> events = ReadText(
      " 00004 0001 19970101  2   29.33\r\n"
      " 00004 x 19970102  2   29.33\r\n",
      CdnowLayout::kSample);
  ASSERT_FALSE(events.ok());
  EXPECT_NE(std::string(events.status().message())
                .find("line 2: column 2 (sample_customer_id)"),
            std::string::npos)
      << events.status();
}

TEST(CdnowImportTest, AMasterFileWithoutItsHeaderIsRejected) {
  absl::StatusOr<std::vector<Event>> events =
      ReadText(" 00001 19970101  1   11.77\r\n", CdnowLayout::kMaster);
  ASSERT_FALSE(events.ok());
  EXPECT_NE(std::string(events.status().message()).find("line 1"),
            std::string::npos);
}

TEST(CdnowImportTest, AMissingFileIsNotFound) {
  EXPECT_EQ(ReadCdnowFile(CdnowPath("no_such_file.txt"), CdnowLayout::kMaster)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace kehu::producers
