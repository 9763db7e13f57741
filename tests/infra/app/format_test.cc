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

}  // namespace
}  // namespace kehu::app
