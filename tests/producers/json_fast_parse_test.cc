// ParseJsonFast against protobuf's JsonStringToMessage: whenever the fast
// path takes a line, the event must be the one protobuf's parser gives; for
// errors and forms it does not cover it must decline, so protobuf's parser
// answers (and explains).
#include "producers/json_fast_parse.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "kehu/events/v1/events.pb.h"
#include "producers/ndjson.h"
#include "producers/simulator.h"

namespace kehu::producers {
namespace {

using events::v1::Event;

// protobuf's parse of `line`, or nullopt when it refuses the line.
std::optional<Event> ProtobufParse(const std::string& line) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  Event event;
  if (!google::protobuf::util::JsonStringToMessage(line, &event, options)
           .ok()) {
    return std::nullopt;
  }
  return event;
}

// The fast path takes `line` and gives what protobuf's parser gives.
void ExpectTakenAndEqual(const std::string& line) {
  SCOPED_TRACE(line);
  Event fast;
  ASSERT_TRUE(ParseJsonFast(line, &fast));
  std::optional<Event> reference = ProtobufParse(line);
  ASSERT_TRUE(reference.has_value()) << "protobuf refuses what was taken";
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(fast, *reference))
      << fast.DebugString() << "\nvs protobuf's\n"
      << reference->DebugString();
}

TEST(JsonFastParseTest, TakesEverySimulatedEventAsProtobufReadsIt) {
  SimulatorOptions options;
  options.customers = 400;
  options.days = 365;
  options.seed = 11;
  Simulator simulator(options);
  int64_t lines = 0;
  ASSERT_TRUE(simulator
                  .Run([&](const Event& event) {
                    absl::StatusOr<std::string> line = ToNdjsonLine(event);
                    EXPECT_TRUE(line.ok());
                    ExpectTakenAndEqual(*line);
                    // And the event itself, not only protobuf's reading.
                    Event fast;
                    EXPECT_TRUE(ParseJsonFast(*line, &fast));
                    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::
                                    Equals(fast, event));
                    ++lines;
                    return absl::OkStatus();
                  })
                  .ok());
  const SimulatorStats& stats = simulator.stats();
  // Every payload type was among them.
  EXPECT_GT(stats.customers_registered, 0);
  EXPECT_GT(stats.profiles_updated, 0);
  EXPECT_GT(stats.orders_placed, 0);
  EXPECT_GT(stats.orders_cancelled, 0);
  EXPECT_GT(stats.orders_returned, 0);
  EXPECT_GT(stats.payments_received, 0);
  EXPECT_GT(stats.calls_logged, 0);
  EXPECT_GT(stats.emails_logged, 0);
  EXPECT_GT(stats.complaints_filed, 0);
  EXPECT_GT(stats.complaints_resolved, 0);
  EXPECT_GT(stats.surveys_answered, 0);
  EXPECT_EQ(lines, stats.events);
}

TEST(JsonFastParseTest, TakesTheFormsClientsWrite) {
  const std::string head =
      R"("eventId":"e1","customerId":"C1","occurredAt":"2025-03-01T09:30:00Z")";
  for (const std::string& line : std::vector<std::string>{
           // Proto field names, whitespace everywhere, members in any order.
           std::string(R"( { "event_id" : "e1" , "customer_id":"C1",)"
                       R"( "occurred_at" : "2025-03-01T09:30:00Z" } )"),
           absl::StrCat("{", head, R"(,"source":"erp"})"),
           // Escapes, \u escapes with a surrogate pair, raw UTF-8.
           absl::StrCat(
               "{", head,
               R"(,"source":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00 Zoë"})"),
           // Integers as numbers and quoted, negative, 64-bit; enums by name;
           // an empty message; booleans; optional fields set to zero.
           absl::StrCat(
               "{", head,
               R"(,"orderPlaced":{"orderId":"O1","currency":"EUR",)"
               R"("channel":"CONTACT_CHANNEL_WEB","lines":[{"sku":"A",)"
               R"("quantity":"3","unitPriceMinor":-9223372036854775808,)"
               R"("unitCostMinor":0,"discountMinor":"9223372036854775807"},{}]}})"),
           absl::StrCat("{", head, R"(,"orderPlaced":{"lines":[]}})"),
           // int32 as a number and quoted, and 0 in an optional field.
           absl::StrCat("{", head,
                        R"(,"surveyAnswered":{"csat":"-5","nps":0}})"),
           absl::StrCat("{", head,
                        R"(,"surveyAnswered":{"surveyId":"S","nps":2147483647}})"),
           absl::StrCat("{", head,
                        R"(,"complaintResolved":{"customerSatisfied":false}})"),
           absl::StrCat("{", head,
                        R"(,"emailLogged":{"opened":true,"clicked":false}})"),
           absl::StrCat("{", head, R"(,"orderPlaced":{}})"),
           // Timestamps: fractions of 1 to 9 digits, offsets, the range ends.
           R"({"occurredAt":"2025-03-01T09:30:00.5Z"})",
           R"({"occurredAt":"2025-03-01T09:30:00.123456789+05:30"})",
           R"({"occurredAt":"2024-02-29T23:59:59.000001-11:45"})",
           R"({"occurredAt":"0001-01-01T00:00:00Z"})",
           R"({"occurredAt":"9999-12-31T23:59:59.999999999Z"})",
           R"({"occurredAt":"1969-12-31T23:59:59.1Z"})",
           "{}",
       }) {
    ExpectTakenAndEqual(line);
  }
}

TEST(JsonFastParseTest, DeclinesErrorsAndFormsItDoesNotCover) {
  const std::string head =
      R"("eventId":"e1","customerId":"C1","occurredAt":"2025-03-01T09:30:00Z")";
  for (const std::string& line : std::vector<std::string>{
           // Errors: protobuf's parser explains them.
           absl::StrCat("{", head, R"(,"customerld":"x"})"),   // unknown
           absl::StrCat("{", head, R"(,"eventId":"e2"})"),     // twice
           absl::StrCat("{", head, R"(,"event_id":"e2"})"),    // both names
           absl::StrCat("{", head,
                        R"(,"orderPlaced":{},"orderCancelled":{}})"),  // oneof
           absl::StrCat("{", head,
                        R"(,"orderPlaced":{"channel":"CONTACT_CHANNEL_FAX"}})"),
           absl::StrCat("{", head,
                        R"(,"orderPlaced":{"lines":[{"quantity":1.5}]}})"),
           absl::StrCat("{", head,
                        R"(,"orderPlaced":{"lines":[{"quantity":01}]}})"),
           absl::StrCat(
               "{", head,
               R"(,"orderPlaced":{"lines":[{"quantity":9223372036854775808}]}})"),
           absl::StrCat("{", head,
                        R"(,"surveyAnswered":{"nps":2147483648}})"),
           absl::StrCat("{", head, R"(,"emailLogged":{"opened":"true"}})"),
           R"({"occurredAt":"2025-13-01T00:00:00Z"})",
           R"({"occurredAt":"2025-02-29T00:00:00Z"})",
           R"({"occurredAt":"2025-02-28T24:00:00Z"})",
           R"({"occurredAt":"2025-02-28T00:00:00.1234567891Z"})",
           R"({"occurredAt":"2025-02-28T00:00:00"})",
           R"({"occurredAt":"0000-12-31T00:00:00Z"})",
           R"({"occurredAt":"0001-01-01T00:00:00+00:01"})",
           R"({"source":"\ud800"})",          // a lone surrogate
           "{\"source\":\"\xC3\x28\"}",       // invalid UTF-8
           "{\"source\":\"a\tb\"}",           // a raw control character
           R"({"source":"x"} {})",            // trailing text
           R"({"source":"x")",                // cut short
           R"(["source"])",
           "",
           // Valid, but left to protobuf's parser.
           R"({"source":null})",
           absl::StrCat("{", head,
                        R"(,"orderPlaced":{"lines":[{"quantity":1e2}]}})"),
           absl::StrCat("{", head,
                        R"(,"orderPlaced":{"channel":1}})"),
       }) {
    SCOPED_TRACE(line);
    Event event;
    EXPECT_FALSE(ParseJsonFast(line, &event));
  }
}

// Through ParseNdjsonLine, a declined line still gets protobuf's answer:
// the forms the fast path leaves alone parse, the errors are explained.
TEST(JsonFastParseTest, DeclinedLinesAreParsedOrExplainedByProtobuf) {
  absl::StatusOr<Event> null_source = ParseNdjsonLine(R"({"source":null})");
  ASSERT_TRUE(null_source.ok()) << null_source.status();
  EXPECT_EQ(null_source->source(), "");

  absl::StatusOr<Event> by_number = ParseNdjsonLine(
      R"({"orderPlaced":{"channel":1,"lines":[{"quantity":1e2}]}})");
  ASSERT_TRUE(by_number.ok()) << by_number.status();
  EXPECT_EQ(by_number->order_placed().lines(0).quantity(), 100);

  absl::StatusOr<Event> misspelt = ParseNdjsonLine(R"({"customerld":"x"})");
  ASSERT_FALSE(misspelt.ok());
  EXPECT_NE(misspelt.status().message().find("customerld"), std::string::npos)
      << misspelt.status();
}

}  // namespace
}  // namespace kehu::producers
