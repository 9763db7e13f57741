// The mapping from the projection store's row format (kehu.store.v1) to the
// query API (kehu.query.v1). The store keeps plain integers so that folds
// are cheap and deterministic; the API speaks Timestamps and derived counts.
#ifndef KEHU_QUERY_CUSTOMER_VIEW_H_
#define KEHU_QUERY_CUSTOMER_VIEW_H_

#include "kehu/query/v1/query.pb.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::query {

// Returns the API view of a customer's folded state. Pure: reads nothing but
// `state`.
//
// Times (microseconds since the epoch in the store) become Timestamps and
// stay unset when 0. Orders.cancelled_count and Orders.returned_count count
// the order records by status; Complaints lists the open complaints (those
// not resolved) oldest filing time first, and its counts are derived from
// the same records, so open_count == open_size() always holds.
query::v1::CustomerView ToCustomerView(const store::v1::CustomerState& state);

}  // namespace kehu::query

#endif  // KEHU_QUERY_CUSTOMER_VIEW_H_
