#include "producers/ndjson.h"

#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "kehu/events/v1/events.pb.h"
#include "tests/testing/status_matchers.h"

namespace kehu::producers {
namespace {

using events::v1::Event;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Event SampleOrder() {
  Event e;
  e.set_event_id("sim-1-17");
  e.set_customer_id("C000042");
  e.mutable_occurred_at()->set_seconds(1735725600);  // 2025-01-01T10:00:00Z
  e.mutable_occurred_at()->set_nanos(500000000);
  e.set_source("webshop");
  auto* order = e.mutable_order_placed();
  order->set_order_id("O000000001");
  order->set_currency("EUR");
  order->set_channel(events::v1::CONTACT_CHANNEL_WEB);
  auto* line = order->add_lines();
  line->set_sku("APP-0001");
  line->set_category("apparel");
  line->set_quantity(2);
  line->set_unit_price_minor(4999);
  line->set_unit_cost_minor(0);  // explicitly zero, not absent
  line->set_discount_minor(500);
  order->add_lines()->set_sku("GRO-0002");
  return e;
}

std::string Line(const Event& e) {
  absl::StatusOr<std::string> line = ToNdjsonLine(e);
  EXPECT_OK(line);
  return line.ok() ? *line : "";
}

TEST(NdjsonTest, EventSurvivesARoundTripThroughALine) {
  const Event original = SampleOrder();
  const std::string line = Line(original);
  ASSERT_OK_AND_ASSIGN(Event parsed, ParseNdjsonLine(line));
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(original, parsed))
      << "line: " << line << "\nparsed: " << parsed.ShortDebugString();
  // Presence of an optional field set to zero survives too.
  EXPECT_TRUE(parsed.order_placed().lines(0).has_unit_cost_minor());
  EXPECT_FALSE(parsed.order_placed().lines(1).has_unit_cost_minor());
}

TEST(NdjsonTest, LineIsCompactCanonicalJsonEndingInANewline) {
  const std::string line = Line(SampleOrder());
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_THAT(line, StartsWith("{\"eventId\":\"sim-1-17\",\"customerId\":"));
  EXPECT_THAT(line, HasSubstr("\"occurredAt\":\"2025-01-01T10:00:00.500Z\""));
  EXPECT_THAT(line, HasSubstr("\"channel\":\"CONTACT_CHANNEL_WEB\""));
}

TEST(NdjsonTest, ReaderReadsEveryLineAndSkipsBlankOnes) {
  Event second = SampleOrder();
  second.set_event_id("sim-1-18");
  std::istringstream in(Line(SampleOrder()) + "\n   \n" + Line(second) +
                        "{\"eventId\":\"last\"}");  // no final newline
  NdjsonReader reader(&in);
  Event e;
  ASSERT_OK_AND_ASSIGN(bool got, reader.Next(&e));
  ASSERT_TRUE(got);
  EXPECT_EQ(e.event_id(), "sim-1-17");
  ASSERT_OK_AND_ASSIGN(got, reader.Next(&e));
  ASSERT_TRUE(got);
  EXPECT_EQ(e.event_id(), "sim-1-18");
  EXPECT_EQ(reader.line_number(), 4);
  ASSERT_OK_AND_ASSIGN(got, reader.Next(&e));
  ASSERT_TRUE(got);
  EXPECT_EQ(e.event_id(), "last");
  ASSERT_OK_AND_ASSIGN(got, reader.Next(&e));
  EXPECT_FALSE(got);
}

TEST(NdjsonTest, SyntaxErrorNamesItsLineAndTheReaderGoesOn) {
  std::istringstream in(
      "{\"eventId\":\"a\"}\n"
      "\n"
      "{\"eventId\":\"b\" \"customerId\":\"C1\"}\n"
      "{\"eventId\":\"c\"}\r\n");
  NdjsonReader reader(&in);
  Event e;
  ASSERT_OK_AND_ASSIGN(bool got, reader.Next(&e));
  ASSERT_TRUE(got);

  absl::StatusOr<bool> bad = reader.Next(&e);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), StartsWith("line 3: "));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("customerId"))
      << "the text near the error is shown";
  EXPECT_EQ(std::string(bad.status().message()).find('\n'), std::string::npos)
      << bad.status();

  ASSERT_OK_AND_ASSIGN(got, reader.Next(&e));
  ASSERT_TRUE(got);
  EXPECT_EQ(e.event_id(), "c");
  EXPECT_EQ(reader.line_number(), 4);
  ASSERT_OK_AND_ASSIGN(got, reader.Next(&e));
  EXPECT_FALSE(got);
}

TEST(NdjsonTest, UnknownFieldIsReportedByName) {
  std::istringstream in(
      "{\"eventId\":\"a\",\"customerIdd\":\"C1\"}\n"
      "{\"eventId\":\"b\",\"orderPlaced\":{\"lines\":[{\"quantityy\":1}]}}\n");
  NdjsonReader reader(&in);
  Event e;
  absl::StatusOr<bool> first = reader.Next(&e);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().message(), "line 1: unknown field \"customerIdd\"");
  absl::StatusOr<bool> second = reader.Next(&e);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "line 2: unknown field \"quantityy\" in order_placed.lines[0]");
}

TEST(NdjsonTest, WrongTypeNamesTheField) {
  absl::StatusOr<Event> parsed =
      ParseNdjsonLine("{\"orderPlaced\":{\"lines\":[{\"quantity\":\"two\"}]}}");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              StartsWith("order_placed.lines[0].quantity: "));
}

TEST(NdjsonTest, ProtoFieldNamesAreAcceptedToo) {
  ASSERT_OK_AND_ASSIGN(
      Event e, ParseNdjsonLine("{\"event_id\":\"a\",\"customer_id\":\"C1\"}"));
  EXPECT_EQ(e.customer_id(), "C1");
}

TEST(NdjsonTest, TimestampOutsideJsonRangeCannotBeWritten) {
  Event e = SampleOrder();
  e.mutable_occurred_at()->set_seconds(-99999999999999);
  EXPECT_EQ(ToNdjsonLine(e).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kehu::producers
