#include "projections/lifetime_value_fit.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "infra/customer_metrics.h"
#include "infra/event_validation.h"
#include "producers/cdnow_import.h"
#include "projections/customer_fold.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/shared_data.h"
#include "tests/testing/status_matchers.h"

namespace kehu::projections {
namespace {

using infra::Purchase;
using infra::Summarize;

using store::v1::BgNbdParameters;
using store::v1::CustomerState;
using store::v1::GammaGammaParameters;

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
constexpr double kWeek = 7;

int64_t DayUs(int year, int month, int day) {
  return absl::ToUnixMicros(
      absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone()));
}

// ---------------------------------------------------------------------------
// Summarize

TEST(SummarizeTest, PurchasesOnTheSameDayAreOneTransaction) {
  const int64_t day0 = DayUs(2025, 1, 1);
  const int64_t hour = 3600 * int64_t{1000000};
  auto s = Summarize({{day0 + 9 * hour, 1000},
                      {day0 + 7 * kMicrosPerDay + 10 * hour, 300},
                      {day0 + 7 * kMicrosPerDay + 18 * hour, 200},
                      {day0 + 14 * kMicrosPerDay + 9 * hour, 700}},
                     day0 + 28 * kMicrosPerDay + 9 * hour, kWeek);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->x, 2);
  // The merged transaction counts at its first purchase, 10:00 on day 7.
  EXPECT_DOUBLE_EQ(s->t_x, 2);
  EXPECT_DOUBLE_EQ(s->t_cal, 4);
  // (300 + 200 + 700) / 2: the merged values add up.
  EXPECT_DOUBLE_EQ(s->m_x, 600);
}

TEST(SummarizeTest, TheDayIsTheUtcCalendarDay) {
  const int64_t day0 = DayUs(2025, 1, 1);
  const int64_t hour = 3600 * int64_t{1000000};
  // 23:00 and 01:00 the next morning are two transactions; 00:00 and 23:59
  // the same day are one.
  auto s = Summarize({{day0 + 23 * hour, 100}, {day0 + 25 * hour, 100}},
                     day0 + 10 * kMicrosPerDay, kWeek);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->x, 1);
  s = Summarize({{day0, 100}, {day0 + kMicrosPerDay - 1, 100}},
                day0 + 10 * kMicrosPerDay, kWeek);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->x, 0);
}

TEST(SummarizeTest, PurchasesAfterTheCalibrationEndAreIgnored) {
  const int64_t day0 = DayUs(2025, 1, 1);
  const int64_t end = day0 + 21 * kMicrosPerDay;
  auto s = Summarize({{day0 + 30 * kMicrosPerDay, 9999},
                      {day0, 100},
                      {day0 + 7 * kMicrosPerDay, 400},
                      {end, 200},
                      {end + 1, 5000}},
                     end, kWeek);
  ASSERT_TRUE(s.has_value());
  // The purchase at the end itself counts; later ones do not.
  EXPECT_EQ(s->x, 2);
  EXPECT_DOUBLE_EQ(s->t_x, 3);
  EXPECT_DOUBLE_EQ(s->t_cal, 3);
  EXPECT_DOUBLE_EQ(s->m_x, 300);
}

TEST(SummarizeTest, ACustomerWithOnePurchaseHasNoRepeatTransactions) {
  const int64_t day0 = DayUs(2025, 1, 1);
  auto s = Summarize({{day0, 2500}}, day0 + 10 * kMicrosPerDay, /*days=*/1);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->x, 0);
  EXPECT_EQ(s->t_x, 0);
  EXPECT_DOUBLE_EQ(s->t_cal, 10);
  EXPECT_EQ(s->m_x, 0);
}

TEST(SummarizeTest, ACustomerWhoFirstBoughtAfterCalibrationIsNotSummarized) {
  const int64_t day0 = DayUs(2025, 1, 1);
  EXPECT_FALSE(Summarize({{day0 + kMicrosPerDay, 100}}, day0, kWeek));
  EXPECT_FALSE(Summarize({}, day0, kWeek));
}

TEST(MarginPurchasesTest, CancelledOrdersAreNotPurchasesAndRefundsReduceValue) {
  using namespace kehu::testing;  // NOLINT: event builders
  CustomerState state;
  int64_t offset = 0;
  for (const auto& e : {Order("e1", "C1", 0, "O1", {{"a", 2, 500}}),
                        Order("e2", "C1", 3, "O2", {{"b", 1, 900, -1, 100}}),
                        Cancelled("e3", "C1", 4, "O2"),
                        Order("e4", "C1", 9, "O3", {{"c", 4, 250}}),
                        Returned("e5", "C1", 10, "O3", {{"c", 1}})}) {
    ASSERT_FALSE(infra::ValidateEvent(e).has_value()) << e.event_id();
    FoldEvent(e, EventPosition{0, offset++}, &state);
  }
  const std::vector<Purchase> purchases =
      infra::MarginPurchases(state, std::numeric_limits<int64_t>::max(), "EUR");
  ASSERT_EQ(purchases.size(), 2u);
  const int64_t day0 = DayUs(2025, 1, 1);
  EXPECT_EQ(purchases[0], Purchase(day0, 1000));
  EXPECT_EQ(purchases[1], Purchase(day0 + 9 * kMicrosPerDay, 750));
}

// ---------------------------------------------------------------------------
// Fits on CDNOW (../shared/data/cdnow/REFERENCE.md)

// The CDNOW sample as the literature sets it up, through kehu's own path:
// CDNOW rows -> events (the importer) -> folded customer state -> the
// customers' purchases -> summaries at the end of calibration (1997-09-30
// inclusive, in weeks).
const std::vector<CalibrationSummary>& CdnowSample() {
  static const std::vector<CalibrationSummary>* population = [] {
    auto* summaries = new std::vector<CalibrationSummary>();
    absl::StatusOr<std::vector<events::v1::Event>> events =
        producers::ReadCdnowFile(
            testing::SharedDataPath("cdnow/CDNOW_sample.txt"),
            producers::CdnowLayout::kSample);
    if (!events.ok()) {
      ADD_FAILURE() << events.status();
      return summaries;
    }
    std::map<std::string, CustomerState> states;
    int64_t offset = 0;
    for (const auto& event : *events) {
      FoldEvent(event, EventPosition{0, offset++},
                &states[event.customer_id()]);
    }
    const int64_t end = DayUs(1997, 9, 30);
    for (const auto& [id, state] : states) {
      auto s = Summarize(infra::MarginPurchases(state, end, "USD"), end, kWeek);
      if (s.has_value()) summaries->push_back(*s);
    }
    return summaries;
  }();
  return *population;
}

void ExpectWithinPercent(double actual, double published, double percent) {
  EXPECT_NEAR(actual, published, std::abs(published) * percent / 100)
      << "off by " << 100 * (actual - published) / published << "%";
}

TEST(LifetimeValueFitTest, CdnowSampleSummarizesAsInTheLiterature) {
  const auto& population = CdnowSample();
  // Every sample customer first bought in Q1 1997, inside calibration.
  EXPECT_EQ(population.size(), 2357u);
  int repeat = 0;
  double spend = 0;
  for (const auto& c : population) {
    if (c.x > 0) {
      ++repeat;
      spend += c.m_x;
    }
  }
  EXPECT_EQ(repeat, 946);
  // 35.08 dollars; values are in cents.
  EXPECT_NEAR(spend / repeat / 100, 35.08, 0.005);
}

TEST(LifetimeValueFitTest, BgNbdFitReproducesThePublishedCdnowParameters) {
  ASSERT_OK_AND_ASSIGN(BgNbdParameters fit, FitBgNbd(CdnowSample()));
  ExpectWithinPercent(fit.r(), 0.2426, 0.5);
  ExpectWithinPercent(fit.alpha(), 4.4137, 0.5);
  ExpectWithinPercent(fit.a(), 0.7930, 0.5);
  ExpectWithinPercent(fit.b(), 2.4262, 0.5);
  EXPECT_NEAR(fit.log_likelihood(), -9582.43, 0.01);
  EXPECT_DOUBLE_EQ(fit.log_likelihood(),
                   BgNbdLogLikelihood(fit, CdnowSample()));
}

TEST(LifetimeValueFitTest, BgNbdFitIsAMaximum) {
  ASSERT_OK_AND_ASSIGN(BgNbdParameters fit, FitBgNbd(CdnowSample()));
  // No step of 0.1% in any parameter improves the likelihood.
  for (int i = 0; i < 4; ++i) {
    for (double factor : {0.999, 1.001}) {
      BgNbdParameters moved = fit;
      switch (i) {
        case 0:
          moved.set_r(fit.r() * factor);
          break;
        case 1:
          moved.set_alpha(fit.alpha() * factor);
          break;
        case 2:
          moved.set_a(fit.a() * factor);
          break;
        default:
          moved.set_b(fit.b() * factor);
      }
      EXPECT_LT(BgNbdLogLikelihood(moved, CdnowSample()), fit.log_likelihood())
          << "parameter " << i << " x " << factor;
    }
  }
}

TEST(LifetimeValueFitTest, GammaGammaFitReproducesThePublishedCdnowParameters) {
  ASSERT_OK_AND_ASSIGN(GammaGammaParameters fit, FitGammaGamma(CdnowSample()));
  ExpectWithinPercent(fit.p(), 6.25, 1);
  ExpectWithinPercent(fit.q(), 3.74, 1);
  // Values are in cents: gamma is in cents too.
  ExpectWithinPercent(fit.gamma() / 100, 15.44, 1);
  // The population mean spend p gamma / (q - 1), $35.17 at full precision.
  EXPECT_NEAR(fit.p() * fit.gamma() / (fit.q() - 1) / 100, 35.17, 0.005);
  EXPECT_DOUBLE_EQ(fit.log_likelihood(),
                   GammaGammaLogLikelihood(fit, CdnowSample()));
}

TEST(LifetimeValueFitTest, FitsAreIdenticalRunToRun) {
  ASSERT_OK_AND_ASSIGN(BgNbdParameters first, FitBgNbd(CdnowSample()));
  ASSERT_OK_AND_ASSIGN(BgNbdParameters second, FitBgNbd(CdnowSample()));
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  ASSERT_OK_AND_ASSIGN(GammaGammaParameters gg1, FitGammaGamma(CdnowSample()));
  ASSERT_OK_AND_ASSIGN(GammaGammaParameters gg2, FitGammaGamma(CdnowSample()));
  EXPECT_EQ(gg1.SerializeAsString(), gg2.SerializeAsString());
}

TEST(LifetimeValueFitTest, GammaGammaIsScaleFree) {
  // The same spend in dollars instead of cents: p and q do not move, gamma
  // scales with the unit.
  std::vector<CalibrationSummary> dollars = CdnowSample();
  for (auto& c : dollars) c.m_x /= 100;
  ASSERT_OK_AND_ASSIGN(GammaGammaParameters cents,
                       FitGammaGamma(CdnowSample()));
  ASSERT_OK_AND_ASSIGN(GammaGammaParameters fit, FitGammaGamma(dollars));
  EXPECT_NEAR(fit.p(), cents.p(), 1e-4 * cents.p());
  EXPECT_NEAR(fit.q(), cents.q(), 1e-4 * cents.q());
  EXPECT_NEAR(fit.gamma(), cents.gamma() / 100, 1e-4 * cents.gamma() / 100);
}

TEST(LifetimeValueFitTest, ANegativeMeanValueDoesNotStopEitherFit) {
  // A customer whose repeat purchases lost money (returns, sales below
  // cost): BG/NBD counts the transactions, Gamma-Gamma leaves them out.
  std::vector<CalibrationSummary> population = CdnowSample();
  ASSERT_OK_AND_ASSIGN(GammaGammaParameters without,
                       FitGammaGamma(population));
  population.push_back({1, 9.7, 19.6, -36});
  ASSERT_OK(FitBgNbd(population).status());
  ASSERT_OK_AND_ASSIGN(GammaGammaParameters with, FitGammaGamma(population));
  EXPECT_EQ(with.SerializeAsString(), without.SerializeAsString());
}

// ---------------------------------------------------------------------------
// Errors

TEST(LifetimeValueFitTest, AnEmptyPopulationCannotBeFitted) {
  EXPECT_EQ(FitBgNbd({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitGammaGamma({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LifetimeValueFitTest, GammaGammaNeedsRepeatCustomers) {
  const std::vector<CalibrationSummary> one_timers = {{0, 0, 30, 0},
                                                      {0, 0, 12, 0}};
  absl::StatusOr<GammaGammaParameters> fit = FitGammaGamma(one_timers);
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(fit.status().message()).find("repeat purchase"),
            std::string::npos)
      << fit.status();
}

TEST(LifetimeValueFitTest, BgNbdWithoutAnyRepeatPurchaseHasNoMaximum) {
  // Nobody bought twice: the likelihood rises as the purchase rate goes to
  // zero, so there is nothing to report.
  const std::vector<CalibrationSummary> one_timers = {
      {0, 0, 30, 0}, {0, 0, 12, 0}, {0, 0, 20, 0}};
  absl::StatusOr<BgNbdParameters> fit = FitBgNbd(one_timers);
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(fit.status().message()).find("no interior maximum"),
            std::string::npos)
      << fit.status();
}

TEST(LifetimeValueFitTest, BgNbdOnAFlatRidgeStopsEarlyAndSaysSo) {
  // Customers who buy at their own steady rates and never leave (an NBD
  // process: rates gamma-distributed, purchases Poisson): the drop-out
  // parameters slide along a ridge where the likelihood stays the same.
  // The optimizer notices within a few thousand evaluations instead of
  // spending all it may.
  // Weeks of history are few, as early in a business.
  std::mt19937_64 random(2);
  std::gamma_distribution<double> rate(0.6, 1.0 / 8.0);  // per week
  std::vector<CalibrationSummary> loyal;
  for (int i = 0; i < 100; ++i) {
    const double t_cal = 2 + i % 13;  // weeks since the first purchase
    const double lambda = rate(random);
    std::exponential_distribution<double> gap(lambda);
    double t = 0;
    double x = 0;
    double t_x = 0;
    while ((t += gap(random)) <= t_cal) {
      ++x;
      t_x = t;
    }
    loyal.push_back({x, t_x, t_cal, 0});
  }
  absl::StatusOr<BgNbdParameters> fit = FitBgNbd(loyal);
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(fit.status().message()).find("no single maximum"),
            std::string::npos)
      << fit.status();
}

TEST(LifetimeValueFitTest, AFitThatRunsOutOfEvaluationsSaysSo) {
  FitOptions options;
  options.max_evaluations = 50;
  absl::StatusOr<BgNbdParameters> fit = FitBgNbd(CdnowSample(), options);
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(fit.status().message()).find("did not converge"),
            std::string::npos)
      << fit.status();
}

TEST(LifetimeValueFitTest, AnImpossibleSummaryIsRejected) {
  // The last purchase after the end of calibration.
  const std::vector<CalibrationSummary> population = {{2, 31, 30, 10}};
  EXPECT_EQ(FitBgNbd(population).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitGammaGamma(population).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kehu::projections
