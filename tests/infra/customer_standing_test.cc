#include "infra/customer_standing.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "projections/customer_fold.h"
#include "tests/projections/event_builders.h"

namespace kehu::infra {
namespace {

using namespace kehu::testing;  // NOLINT: event builders
using store::v1::CustomerState;

int64_t DayUs(double day) {
  return (int64_t{1735689600} + static_cast<int64_t>(day * 86400)) * 1000000;
}

CustomerState Fold(const std::vector<events::v1::Event>& events) {
  CustomerState state;
  int64_t offset = 0;
  for (const auto& e : events) {
    projections::FoldEvent(e, projections::EventPosition{0, offset++}, &state);
  }
  return state;
}

// Orders of 1000 (no cost) on the given days.
CustomerState BuyerOn(const std::vector<int>& days) {
  std::vector<events::v1::Event> events;
  for (int d : days) {
    const std::string n = std::to_string(d);
    events.push_back(Order("e" + n, "C1", d, "O" + n, {{"A", 1, 1000}}));
  }
  return Fold(events);
}

// A population measured at some time, with the cuts and cutoffs given.
store::v1::PopulationModel Population() {
  store::v1::PopulationModel p;
  p.set_as_of_us(DayUs(400));
  for (double c : {10, 30, 60, 120}) p.mutable_recency_days()->add_cuts(c);
  for (double c : {1, 1, 2, 4}) p.mutable_frequency()->add_cuts(c);
  for (double c : {1000, 2000, 4000, 8000})
    p.mutable_monetary_minor()->add_cuts(c);
  p.set_pareto_key_customers(10);
  p.set_pareto_cutoff_minor(5000);
  p.set_pyramid_key_customers(2);
  p.set_pyramid_key_cutoff_minor(9000);
  p.set_pyramid_potential_customers(6);
  p.set_pyramid_potential_cutoff_minor(4000);
  p.set_median_inter_purchase_days(40);
  return p;
}

Standing At(const CustomerState& state, double day,
            const store::v1::PopulationModel& population = Population()) {
  return StandingOf(state, DayUs(day), population, "EUR", StandingConfig());
}

TEST(CustomerStandingTest, RfmScoresCountTheCutsPassed) {
  // Five purchases, the last 20 days before as_of; 5000 of margin.
  Standing s = At(BuyerOn({300, 320, 340, 360, 380}), 400);
  EXPECT_EQ(s.recency_score, 4);    // 20 days: below 30, 60, 120
  EXPECT_EQ(s.frequency_score, 5);  // 5 purchases: above every cut
  EXPECT_EQ(s.monetary_score, 4);   // 5000: above 1000, 2000, 4000
  EXPECT_TRUE(s.pareto_key);        // 5000 >= the cutoff 5000
  EXPECT_EQ(s.tier, PyramidTier::kPotential);
}

TEST(CustomerStandingTest, AValueOnACutScoresBelowIt) {
  // Exactly 1000 of margin and exactly 10 days: ties go to the lower score.
  Standing s = At(BuyerOn({390}), 400);
  EXPECT_EQ(s.monetary_score, 1);
  EXPECT_EQ(s.recency_score, 4);
  EXPECT_EQ(s.frequency_score, 1);
  EXPECT_EQ(s.tier, PyramidTier::kOneTime);
  EXPECT_FALSE(s.pareto_key);
}

TEST(CustomerStandingTest, BeforeTheFirstFitOnlyFactsAndTheGapRuleAreKnown) {
  Standing s = At(BuyerOn({300, 320}), 330, store::v1::PopulationModel());
  EXPECT_EQ(s.recency_score, 0);
  EXPECT_FALSE(s.has_p_alive);
  EXPECT_FALSE(s.has_current_value);
  EXPECT_EQ(s.stage, Stage::kRepeat);
  EXPECT_EQ(s.facts.purchases, 2);
}

TEST(CustomerStandingTest, SilenceLongerThanTheChurnGapChurns) {
  // Gaps of 10 days: 3 x 10 is below the 180-day minimum, so 180 counts.
  CustomerState s = BuyerOn({0, 10, 20});
  EXPECT_EQ(At(s, 200, store::v1::PopulationModel()).stage, Stage::kRepeat);
  Standing churned = At(s, 201, store::v1::PopulationModel());
  EXPECT_EQ(churned.stage, Stage::kChurned);
  ASSERT_FALSE(churned.transitions.empty());
  EXPECT_EQ(churned.transitions.back().to, Stage::kChurned);
  EXPECT_EQ(churned.transitions.back().at_us, DayUs(200));
}

TEST(CustomerStandingTest, ALongGapMultipleOfTheMedianChurnsSlowBuyers) {
  // Gaps of 100 days: the churn gap is 300 days.
  CustomerState s = BuyerOn({0, 100, 200});
  EXPECT_EQ(At(s, 499, store::v1::PopulationModel()).stage, Stage::kRepeat);
  EXPECT_EQ(At(s, 501, store::v1::PopulationModel()).stage, Stage::kChurned);
}

TEST(CustomerStandingTest, APurchaseAfterChurningIsAWinBack) {
  CustomerState s = BuyerOn({0, 10, 20, 400});
  Standing won = At(s, 410, store::v1::PopulationModel());
  EXPECT_EQ(won.stage, Stage::kWonBack);
  ASSERT_EQ(won.transitions.size(), 2u);
  EXPECT_EQ(won.transitions[0].to, Stage::kChurned);
  EXPECT_EQ(won.transitions[0].at_us, DayUs(200));
  EXPECT_EQ(won.transitions[1].from, Stage::kChurned);
  EXPECT_EQ(won.transitions[1].to, Stage::kWonBack);
  EXPECT_EQ(won.transitions[1].at_us, DayUs(400));
}

TEST(CustomerStandingTest, ASinglePurchaseUsesThePopulationsMedianGap) {
  // Population median gap 40 days: 3 x 40 = 120 < 180, so 180 counts.
  CustomerState s = BuyerOn({100});
  EXPECT_EQ(At(s, 280).stage, Stage::kNew);
  EXPECT_EQ(At(s, 281).stage, Stage::kChurned);
}

TEST(CustomerStandingTest, PAliveDecidesLoyalAtRiskAndChurned) {
  // Published CDNOW parameters, weeks.
  store::v1::PopulationModel p = Population();
  auto* bg = p.mutable_models()->mutable_bg_nbd();
  bg->set_r(0.2426);
  bg->set_alpha(4.4137);
  bg->set_a(0.7930);
  bg->set_b(2.4262);
  p.mutable_models()->set_time_unit_days(7);

  // Buying every 30 days for a year, in 5 quarters: alive and loyal.
  CustomerState regular =
      BuyerOn({0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330, 360});
  Standing loyal = At(regular, 365, p);
  ASSERT_TRUE(loyal.has_p_alive);
  EXPECT_GE(loyal.p_alive, 0.8);
  EXPECT_EQ(loyal.stage, Stage::kLoyal);

  // The same buyer after 170 silent days (inside the 180-day gap rule):
  // BG/NBD says they are likely gone.
  Standing quiet = At(regular, 530, p);
  EXPECT_LT(quiet.p_alive, 0.5);
  EXPECT_TRUE(quiet.stage == Stage::kAtRisk || quiet.stage == Stage::kChurned);
  EXPECT_NE(quiet.win_back, WinBack::kNone);
}

TEST(CustomerStandingTest, WinBackFollowsTheLastActiveTier) {
  // 10000 of margin in the last active year puts them in the key tier;
  // churned a year later, they must be won back.
  CustomerState big = Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 5000}}),
                            Order("e2", "C1", 20, "O2", {{"A", 1, 5000}})});
  Standing s = At(big, 400);
  EXPECT_EQ(s.stage, Stage::kChurned);
  EXPECT_EQ(s.tier, PyramidTier::kInactive);
  EXPECT_EQ(s.reference_tier, PyramidTier::kKey);
  EXPECT_EQ(s.win_back, WinBack::kMust);
}

TEST(CustomerStandingTest, ACustomerWhoseOnlyPurchaseWasReturnedIsStillABuyer) {
  CustomerState s = Fold({Order("e1", "C1", 390, "O1", {{"A", 1, 1000}}),
                          Returned("e2", "C1", 392, "O1", {{"A", 1}})});
  Standing st = At(s, 400);
  EXPECT_EQ(st.facts.purchases, 1);
  EXPECT_EQ(st.facts.window_margin_minor, 0);
  EXPECT_EQ(st.monetary_score, 1);
  EXPECT_EQ(st.tier, PyramidTier::kOneTime);
}

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kPotential:
      return "potential";
    case Stage::kNew:
      return "new";
    case Stage::kRepeat:
      return "repeat";
    case Stage::kLoyal:
      return "loyal";
    case Stage::kAtRisk:
      return "at_risk";
    case Stage::kChurned:
      return "churned";
    case Stage::kWonBack:
      return "won_back";
  }
  return "?";
}

const char* BandName(ChurnRiskBand band) {
  switch (band) {
    case ChurnRiskBand::kUnknown:
      return "unspecified";
    case ChurnRiskBand::kLow:
      return "low";
    case ChurnRiskBand::kMedium:
      return "medium";
    case ChurnRiskBand::kHigh:
      return "high";
    case ChurnRiskBand::kVeryHigh:
      return "very_high";
  }
  return "?";
}

const char* CellName(MatrixCell cell) {
  switch (cell) {
    case MatrixCell::kNone:
      return "unspecified";
    case MatrixCell::kVip:
      return "vip";
    case MatrixCell::kMaintain:
      return "maintain";
    case MatrixCell::kImprove:
      return "improve";
    case MatrixCell::kAbandon:
      return "abandon";
  }
  return "?";
}

// Every step but the last failed; the last held and assigned `value`.
void ExpectDecidedBy(const Explanation& why, const std::string& value) {
  ASSERT_FALSE(why.steps.empty());
  for (size_t i = 0; i + 1 < why.steps.size(); ++i) {
    EXPECT_FALSE(why.steps[i].holds) << why.steps[i].outcome;
  }
  EXPECT_TRUE(why.steps.back().holds);
  EXPECT_EQ(why.steps.back().outcome, value);
}

TEST(CustomerStandingTest, EveryExplanationEndsInTheClassification) {
  store::v1::PopulationModel with_model = Population();
  auto* bg = with_model.mutable_models()->mutable_bg_nbd();
  bg->set_r(0.2426);
  bg->set_alpha(4.4137);
  bg->set_a(0.7930);
  bg->set_b(2.4262);
  with_model.mutable_models()->set_time_unit_days(7);
  auto* gg = with_model.mutable_models()->mutable_gamma_gamma();
  gg->set_p(6.25);
  gg->set_q(3.74);
  gg->set_gamma(15.44);
  for (const char* tier : {"key", "potential", "regular", "one_time",
                           "inactive"}) {
    auto* row = with_model.add_category_margins();
    row->set_tier(tier);
    row->add_categories("cat-A");
    row->add_mean_margin_minor(500);
    row->add_categories("cat-B");
    row->add_mean_margin_minor(300);
  }
  with_model.set_median_current_value_minor(1000);
  with_model.set_median_potential_value_minor(100);
  const std::vector<CustomerState> customers = {
      CustomerState(), BuyerOn({390}), BuyerOn({0, 10, 20, 400}),
      BuyerOn({300, 320, 340, 360, 380}),
      BuyerOn({0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330, 360}),
      Fold({Order("e1", "C1", 0, "O1", {{"A", 1, 5000}}),
            Order("e2", "C1", 20, "O2", {{"A", 1, 5000}})})};
  int explained = 0;
  int with_cell = 0;
  for (const auto& population :
       {store::v1::PopulationModel(), Population(), with_model}) {
    for (size_t i = 0; i < customers.size(); ++i) {
      const CustomerState& state = customers[i];
      for (double day : {5.0, 200.0, 365.0, 410.0, 530.0}) {
        StandingExplanations why;
        const Standing s = StandingOf(state, DayUs(day), population, "EUR",
                                      StandingConfig(), &why);
        SCOPED_TRACE(::testing::Message() << "customer " << i << " day "
                                          << day << " population "
                                          << population.as_of_us());
        ExpectDecidedBy(why.tier, PyramidTierName(s.tier));
        ExpectDecidedBy(why.pareto, s.pareto_key ? "key" : "ordinary");
        ExpectDecidedBy(why.stage, StageName(s.stage));
        ExpectDecidedBy(why.churn_risk, BandName(s.churn_risk_band));
        ExpectDecidedBy(why.matrix_cell, CellName(s.cell));
        if (s.cell != MatrixCell::kNone) ++with_cell;
        // Explaining changes nothing.
        const Standing plain = StandingOf(state, DayUs(day), population,
                                          "EUR", StandingConfig());
        EXPECT_EQ(plain.stage, s.stage);
        EXPECT_EQ(plain.tier, s.tier);
        EXPECT_EQ(plain.p_alive, s.p_alive);
        ++explained;
      }
    }
  }
  EXPECT_EQ(explained, 90);
  EXPECT_GT(with_cell, 0);
}

TEST(CustomerStandingTest, AWinBackIsExplainedByTheGapBeforeTheLastPurchase) {
  StandingExplanations why;
  const Standing s = StandingOf(BuyerOn({0, 10, 20, 400}), DayUs(410),
                                store::v1::PopulationModel(), "EUR",
                                StandingConfig(), &why);
  ASSERT_EQ(s.stage, Stage::kWonBack);
  ExpectDecidedBy(why.stage, "won_back");
  const RuleStep& won = why.stage.steps.back();
  ASSERT_EQ(won.comparisons.size(), 1u);
  const Comparison& c = won.comparisons[0].comparison;
  EXPECT_STREQ(c.fact, "days between the last two purchases");
  EXPECT_DOUBLE_EQ(c.value, 380);
  // Gaps of 10 days before: 3 x 10 is below the configured 180-day
  // minimum.
  EXPECT_DOUBLE_EQ(c.threshold_value, 180);
  EXPECT_EQ(c.source, ThresholdSource::kConfiguration);
  // Every purchase counts: the gaps, the count, the silence.
  EXPECT_EQ(why.stage.order_ids,
            (std::vector<std::string>{"O0", "O10", "O20", "O400"}));
  // Without a model, the P(alive) steps say so rather than compare.
  EXPECT_EQ(why.stage.steps[2].outcome, "churned");
  EXPECT_TRUE(why.stage.steps[2].comparisons.empty());
  EXPECT_NE(why.stage.steps[2].note.find("P(alive) is unknown"),
            std::string::npos);
}

TEST(CustomerStandingTest, TheChurnGapNamesWhereItCameFrom) {
  // Gaps of 100 days: 3 x 100 = 300 days, the customer's own.
  StandingExplanations why;
  StandingOf(BuyerOn({0, 100, 200}), DayUs(501), store::v1::PopulationModel(),
             "EUR", StandingConfig(), &why);
  ExpectDecidedBy(why.stage, "churned");
  const Comparison& own = why.stage.steps.back().comparisons[0].comparison;
  EXPECT_DOUBLE_EQ(own.threshold_value, 300);
  EXPECT_EQ(own.source, ThresholdSource::kCustomerHistory);

  // A single purchase: the population's median gap, 3 x 80 = 240 days.
  store::v1::PopulationModel p = Population();
  p.set_median_inter_purchase_days(80);
  why = StandingExplanations();
  StandingOf(BuyerOn({100}), DayUs(341), p, "EUR", StandingConfig(), &why);
  ExpectDecidedBy(why.stage, "churned");
  const Comparison& theirs = why.stage.steps.back().comparisons[0].comparison;
  EXPECT_DOUBLE_EQ(theirs.threshold_value, 240);
  EXPECT_EQ(theirs.source, ThresholdSource::kPopulation);
}

TEST(CustomerStandingTest, TheTierIsExplainedByTheWindowsOrders) {
  StandingExplanations why;
  const Standing s = StandingOf(BuyerOn({0, 100, 300, 390}), DayUs(400),
                                Population(), "EUR", StandingConfig(), &why);
  EXPECT_EQ(s.tier, PyramidTier::kRegular);
  EXPECT_EQ(why.tier.order_ids,
            (std::vector<std::string>{"O100", "O300", "O390"}));
  ExpectDecidedBy(why.tier, "regular");
  const RuleStep& potential = why.tier.steps[2];
  EXPECT_EQ(potential.outcome, "potential");
  ASSERT_EQ(potential.comparisons.size(), 2u);
  EXPECT_DOUBLE_EQ(potential.comparisons[1].comparison.value, 3000);
  EXPECT_DOUBLE_EQ(potential.comparisons[1].comparison.threshold_value, 4000);
  EXPECT_EQ(potential.comparisons[1].comparison.source,
            ThresholdSource::kPopulation);
}

}  // namespace
}  // namespace kehu::infra
