#include "tests/bench/freshness_probe.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/event_validation.h"

namespace kehu::bench {
namespace {

using ::testing::HasSubstr;

TEST(ProbeEventTest, IsAValidCallOfTheCustomerAtTheGivenTime) {
  const absl::Time at = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  const events::v1::Event event = ProbeEvent("freshness-0-7", "C000042", at);
  EXPECT_FALSE(infra::ValidateEvent(event).has_value());
  EXPECT_EQ(event.event_id(), "freshness-0-7");
  EXPECT_EQ(event.customer_id(), "C000042");
  EXPECT_EQ(event.occurred_at().seconds(), 1767225600);
  // A call changes no money, tier or stage: probing leaves the figures the
  // other benchmarks read as they were.
  EXPECT_TRUE(event.has_call_logged());
}

query::v1::CustomerView ViewAt(int32_t partition, int64_t offset) {
  query::v1::CustomerView view;
  view.mutable_position()->set_partition(partition);
  view.mutable_position()->set_offset(offset);
  return view;
}

TEST(ReflectsTest, TheAppendedOffsetOrALaterOneShowsTheEvent) {
  EXPECT_TRUE(Reflects(ViewAt(3, 100), 3, 100));
  EXPECT_TRUE(Reflects(ViewAt(3, 101), 3, 100));
}

TEST(ReflectsTest, AnEarlierOffsetDoesNot) {
  EXPECT_FALSE(Reflects(ViewAt(3, 99), 3, 100));
}

TEST(ReflectsTest, APositionInAnotherPartitionOrNoneDoesNot) {
  EXPECT_FALSE(Reflects(ViewAt(2, 500), 3, 100));
  EXPECT_FALSE(Reflects(query::v1::CustomerView(), 0, 0));
}

TEST(FreshnessProbeTest, RefusesATargetOffThisMachine) {
  FreshnessOptions options;
  options.server = "10.0.0.1:50051";
  auto probe = FreshnessProbe::Connect(options);
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(probe.status().message()), HasSubstr("loopback"));
}

FreshnessRun RunWithFreshness(int64_t micros) {
  FreshnessRun run;
  run.probes = 1;
  run.visible = 1;
  run.polls = 2;
  run.send_to_ack.Record(1000);
  run.ack_to_visible.Record(micros * 1000);
  run.send_to_visible.Record(micros * 1000 + 1000);
  return run;
}

TEST(FreshnessJsonTest, GivesEveryRunAndTheMedianOverRuns) {
  FreshnessOptions options;
  const std::string json = FreshnessJson(
      options,
      {RunWithFreshness(300), RunWithFreshness(100), RunWithFreshness(200)});
  EXPECT_THAT(json, HasSubstr(R"("ack_to_visible":{"p50_us":300.0,)"));
  EXPECT_THAT(json, HasSubstr(R"("median":{"send_to_ack":{"p50_us":1.0,)"));
  EXPECT_THAT(json,
              HasSubstr(R"("ack_to_visible":{"p50_us":200.0,"p99_us":200.0,)"));
}

TEST(FormatFreshnessRunTest, NamesErrorsAndTimeouts) {
  FreshnessRun run = RunWithFreshness(100);
  run.probes = 3;
  run.timed_out = 1;
  run.errors["UNAVAILABLE"] = 1;
  run.elapsed = absl::Seconds(1);
  const std::string line = FormatFreshnessRun(0, 2, run);
  EXPECT_THAT(line, HasSubstr("run 1/2: 3 probes at 3.0/s, 1 visible, 1 "
                              "timed out, errors UNAVAILABLE 1"));
  EXPECT_THAT(line, HasSubstr("ack -> visible p50 100.0"));
}

}  // namespace
}  // namespace kehu::bench
