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

}  // namespace
}  // namespace kehu::app
