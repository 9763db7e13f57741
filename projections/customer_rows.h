// PutCustomerRows: the rows a customer's state is stored as — the state row
// (`customers` family) and the customer's place in the three ordered
// indexes (`indexes` family: revenue and margin in the reporting currency,
// purchase count). The live projector (partition_projector.h) and a replay
// (replay.h) both write them here.
#ifndef KEHU_PROJECTIONS_CUSTOMER_ROWS_H_
#define KEHU_PROJECTIONS_CUSTOMER_ROWS_H_

#include <cstdint>

#include "infra/projection_store.h"
#include "kehu/store/v1/store.pb.h"
#include "rocksdb/write_batch.h"

namespace kehu::projections {

// The values a customer's index rows are keyed by.
struct IndexedValues {
  int64_t revenue = 0;
  int64_t margin = 0;
  int64_t purchases = 0;
};

// The index values of `state` in `store`'s reporting currency.
IndexedValues IndexedValuesOf(const store::v1::CustomerState& state,
                              const infra::ProjectionStore& store);

// Adds to `batch` the state row of `state` and the index rows that move
// from `old` (the values last written; nullptr: none were) to the state's
// values; returns those values.
IndexedValues PutCustomerRows(const store::v1::CustomerState& state,
                              const IndexedValues* old,
                              infra::ProjectionStore* store,
                              rocksdb::WriteBatch* batch);

// PutCustomerRows without the state row, for a replay, which writes state
// rows to table files of its own (replay.h).
IndexedValues PutIndexRows(const store::v1::CustomerState& state,
                           const IndexedValues* old,
                           infra::ProjectionStore* store,
                           rocksdb::WriteBatch* batch);

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_CUSTOMER_ROWS_H_
