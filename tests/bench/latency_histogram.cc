#include "tests/bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace kehu::bench {

int LatencyHistogram::BucketOf(int64_t nanos) {
  const uint64_t v =
      static_cast<uint64_t>(std::clamp<int64_t>(nanos, 0, kMaxValueNanos));
  if (v < 2 * kSubBuckets) return static_cast<int>(v);
  // v lies in [2^e, 2^(e+1)) with e >= 8; its top kSubBucketBits + 1 bits
  // (128..255) pick the bucket within the octave.
  const int e = 63 - std::countl_zero(v);
  const int shift = e - kSubBucketBits;
  const int64_t top = static_cast<int64_t>(v >> shift);
  return static_cast<int>(shift * kSubBuckets + top);
}

int64_t LatencyHistogram::UpperBoundOf(int bucket) {
  if (bucket < 2 * kSubBuckets) return bucket;
  const int shift = static_cast<int>(bucket / kSubBuckets) - 1;
  const int64_t top = bucket - shift * kSubBuckets;
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t nanos) {
  nanos = std::max<int64_t>(nanos, 0);
  ++counts_[BucketOf(nanos)];
  if (count_ == 0 || nanos < min_) min_ = nanos;
  if (nanos > max_) max_ = nanos;
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  if (count_ == 0 || other.min_ < min_) min_ = other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
}

int64_t LatencyHistogram::ValueAtQuantile(double q) const {
  if (count_ == 0) return 0;
  // The rank-th smallest value, 1-based: at least q of them are <= it.
  // The epsilon keeps 0.999 * 1000 from rounding up to rank 1000.
  const int64_t rank = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(q * static_cast<double>(count_) - 1e-9)),
      1, count_);
  int64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(UpperBoundOf(i), max_);
  }
  return max_;
}

}  // namespace kehu::bench
