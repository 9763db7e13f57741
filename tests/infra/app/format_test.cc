#include "infra/app/format.h"

#include "gtest/gtest.h"

namespace kehu::app {
namespace {

TEST(FormatTest, MoneyUsesTheCurrencysMinorUnit) {
  EXPECT_EQ(FormatMoney(123456, "EUR"), "1234.56 EUR");
  EXPECT_EQ(FormatMoney(5, "EUR"), "0.05 EUR");
  EXPECT_EQ(FormatMoney(-250, "GBP"), "-2.50 GBP");
  EXPECT_EQ(FormatMoney(1500, "JPY"), "1500 JPY");
  EXPECT_EQ(FormatMoney(1234, "KWD"), "1.234 KWD");
}

TEST(FormatTest, DatesAreUtcDaysAndUnsetIsADash) {
  google::protobuf::Timestamp ts;
  EXPECT_EQ(FormatDate(ts), "-");
  ts.set_seconds(1743465599);  // 2025-03-31T23:59:59Z
  EXPECT_EQ(FormatDate(ts), "2025-03-31");
}

TEST(FormatTest, EnumNamesLoseTheirPrefix) {
  EXPECT_EQ(
      ShortEnumName("RELATIONSHIP_TYPE_RETAIL_CONSUMER", "RELATIONSHIP_TYPE_"),
      "retail consumer");
}

TEST(FormatTest, DaysAndRfc3339TimesParse) {
  absl::Time t;
  ASSERT_TRUE(ParseDayOrTime("2025-03-31", &t));
  EXPECT_EQ(absl::ToUnixSeconds(t), 1743379200);
  ASSERT_TRUE(ParseDayOrTime("2025-03-31T23:59:59Z", &t));
  EXPECT_EQ(absl::ToUnixSeconds(t), 1743465599);
  ASSERT_TRUE(ParseDayOrTime("2025-04-01T01:59:59+02:00", &t));
  EXPECT_EQ(absl::ToUnixSeconds(t), 1743465599);
  EXPECT_FALSE(ParseDayOrTime("31/03/2025", &t));
  EXPECT_FALSE(ParseDayOrTime("", &t));
}

TEST(FormatTest, ShortDurationsRoundToSeconds) {
  EXPECT_EQ(FormatShortDuration(absl::Milliseconds(400)), "0s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(9)), "9s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(185)), "3m05s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(3720)), "1h02m");
}

TEST(FormatTest, ProgressShowsRateShareAndTimeLeft) {
  EXPECT_EQ(FormatProgress(250, 1000, absl::Seconds(2), false),
            "250/1000 events  25.0%  125 events/s  ETA 6s");
  EXPECT_EQ(FormatProgress(250, 1000, absl::Seconds(2), true),
            "[#####...............] 250/1000 events  25.0%  125 events/s  "
            "ETA 6s");
  EXPECT_EQ(FormatProgress(0, 1000, absl::ZeroDuration(), false),
            "0/1000 events  0.0%  0 events/s  ETA -");
  EXPECT_EQ(FormatProgress(0, 0, absl::ZeroDuration(), false),
            "0/0 events  100.0%  0 events/s  ETA 0s");
}

TEST(FormatTest, AnExplanationReadsAsComparisonsWithTheirOutcome) {
  query::v1::ExplainResponse e;
  e.set_customer_id("C7");
  e.set_classification(query::v1::CLASSIFICATION_PYRAMID_TIER);
  e.mutable_as_of()->set_seconds(1767225600);             // 2026-01-01
  e.mutable_population_as_of()->set_seconds(1767225600);
  e.set_currency("EUR");
  e.set_value("key");
  auto* fact = e.add_facts();
  fact->set_name("trailing-year margin");
  fact->set_value(123400);
  fact->set_unit("money");
  auto* step = e.add_rule();
  step->set_outcome("key");
  step->set_holds(true);
  auto* c = step->add_comparisons();
  c->set_fact("trailing-year margin");
  c->set_value(123400);
  c->set_op(">=");
  c->set_threshold("key cutoff");
  c->set_threshold_value(100000);
  c->set_unit("money");
  c->set_source(query::v1::THRESHOLD_SOURCE_POPULATION);
  c->set_holds(true);
  auto* event = e.add_events();
  event->set_event_id("ev-1");
  event->set_type("order_placed");
  event->mutable_occurred_at()->set_seconds(1767225600 - 86400);
  event->mutable_position()->set_offset(42);
  e.set_unlisted_events(3);
  e.set_events_complete(true);

  const std::string out = FormatExplanation(e);
  EXPECT_NE(out.find("customer C7: pyramid tier key\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("as of 2026-01-01, population measured 2026-01-01"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("trailing-year margin 1234.00 EUR ≥ key cutoff 1000.00 "
                     "EUR (population measured 2026-01-01): holds"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("2025-12-31 00:00:00  order_placed         ev-1"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("and 3 more"), std::string::npos) << out;
}

}  // namespace
}  // namespace kehu::app
