// LatencyHistogram: a log-bucketed histogram of durations in nanoseconds,
// in the manner of HdrHistogram, for the query load benchmark.
//
// Operation: values below 256 ns have a bucket each; above, every power of
// two [2^e, 2^(e+1)) is split into 128 equal buckets, so a bucket is at
// most 1/128 (0.8%) of its values wide. A quantile is the upper bound of
// the bucket that holds it, clipped to the largest value recorded, so it
// never under-reports by more than that width and never over-reports.
// min() and max() are exact. Memory is fixed (about 37 KiB) whatever the
// number of values.
//
// Concurrency: not thread-safe. Each thread records into its own
// histogram; Merge() combines them afterwards.
//
// Limitations: values above kMaxValueNanos (about 18 minutes) are counted
// in the top bucket; negative values count as 0.
#ifndef KEHU_TESTS_BENCH_LATENCY_HISTOGRAM_H_
#define KEHU_TESTS_BENCH_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace kehu::bench {

class LatencyHistogram {
 public:
  // Largest value told apart from larger ones: 2^40 ns.
  static constexpr int64_t kMaxValueNanos = int64_t{1} << 40;

  LatencyHistogram() { counts_.fill(0); }

  // Counts one value.
  void Record(int64_t nanos);
  // Adds every value counted by `other`.
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  // 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }

  // The smallest bucket bound that at least q * count() values do not
  // exceed, clipped to max(); 0 when empty.
  // REQUIRES: 0 <= q <= 1.
  int64_t ValueAtQuantile(double q) const;

 private:
  static constexpr int kSubBucketBits = 7;
  static constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;
  // Shift of the top octave [2^40, 2^41): 40 - kSubBucketBits.
  static constexpr int kMaxShift = 40 - kSubBucketBits;
  static constexpr int kBucketCount =
      static_cast<int>((kMaxShift + 2) * kSubBuckets);

  static int BucketOf(int64_t nanos);
  // The largest value that falls in `bucket`.
  static int64_t UpperBoundOf(int bucket);

  std::array<int64_t, kBucketCount> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

}  // namespace kehu::bench

#endif  // KEHU_TESTS_BENCH_LATENCY_HISTOGRAM_H_
