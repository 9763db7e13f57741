// ForEachCustomerChunk: every row of the `customers` family, in chunks,
// worked on by several threads: the population step's passes that
// evaluate each customer (MeasurePopulation's value-matrix medians,
// SegmentIndex::RefreshAll of a replay's store) spend most of their time
// in each customer's standing, which depends on that customer alone.
//
// Operation: the calling thread reads up to `threads` chunks of
// `chunk_rows` rows (copied), then runs `work` on each chunk,
// chunk w of a round on a thread of its own with worker index w, and
// waits for all of them before reading on. A worker index is never used by
// two threads at once, so `work` may keep per-worker results, indexed by
// it, without a lock. Which worker gets which customers depends on
// `threads` and `chunk_rows`: results must be combined in a way that does
// not depend on it (sums of integers, values sorted before use).
//
// `cancelled`, when set, is polled before each round: true stops with
// CANCELLED. The first error of `work` (the lowest worker's of its round)
// stops the scan after that round and is returned.
#ifndef KEHU_PROJECTIONS_CUSTOMER_CHUNKS_H_
#define KEHU_PROJECTIONS_CUSTOMER_CHUNKS_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "infra/projection_store.h"
#include "rocksdb/options.h"

namespace kehu::projections {

// Rows of the customers family: (key, value).
using CustomerRows = std::vector<std::pair<std::string, std::string>>;

absl::Status ForEachCustomerChunk(
    const infra::ProjectionStore& store, const rocksdb::ReadOptions& read,
    int threads, int chunk_rows, const std::function<bool()>& cancelled,
    const std::function<absl::Status(int worker, const CustomerRows& rows)>&
        work);

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_CUSTOMER_CHUNKS_H_
