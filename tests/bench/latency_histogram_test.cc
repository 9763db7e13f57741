#include "tests/bench/latency_histogram.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace kehu::bench {
namespace {

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.min(), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 50);
  EXPECT_EQ(h.ValueAtQuantile(0.99), 99);
  EXPECT_EQ(h.ValueAtQuantile(1.0), 100);
  EXPECT_EQ(h.ValueAtQuantile(0.0), 1);
}

TEST(LatencyHistogramTest, QuantilesAreWithinABucketWidthAboveTheTruth) {
  LatencyHistogram h;
  // 1..100000 microseconds, in nanoseconds.
  for (int64_t us = 1; us <= 100000; ++us) h.Record(us * 1000);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double truth = q * 100000 * 1000;
    const double got = static_cast<double>(h.ValueAtQuantile(q));
    EXPECT_GE(got, truth) << q;
    EXPECT_LE(got, truth * (1 + 1.0 / 128)) << q;
  }
  EXPECT_EQ(h.max(), 100000 * 1000);
  EXPECT_EQ(h.min(), 1000);
}

TEST(LatencyHistogramTest, OneSlowCallShowsInTheTailNotTheMedian) {
  LatencyHistogram h;
  for (int i = 0; i < 999; ++i) h.Record(100000);
  h.Record(2000000000);  // one call of 2 s
  EXPECT_LE(h.ValueAtQuantile(0.5), 100000 * (1 + 1.0 / 128));
  EXPECT_LE(h.ValueAtQuantile(0.999), 100000 * (1 + 1.0 / 128));
  EXPECT_EQ(h.ValueAtQuantile(1.0), 2000000000);
  EXPECT_EQ(h.max(), 2000000000);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  for (int64_t v = 1; v < 5000000; v += 997) {
    (v % 2 ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {0.1, 0.5, 0.99}) {
    EXPECT_EQ(a.ValueAtQuantile(q), all.ValueAtQuantile(q)) << q;
  }
}

TEST(LatencyHistogramTest, HugeAndNegativeValuesAreClampedNotLost) {
  LatencyHistogram h;
  h.Record(-5);
  h.Record(LatencyHistogram::kMaxValueNanos * 4);
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 0);
  EXPECT_GE(h.ValueAtQuantile(1.0), LatencyHistogram::kMaxValueNanos);
}

}  // namespace
}  // namespace kehu::bench
