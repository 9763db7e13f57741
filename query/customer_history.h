// CustomerStateAsOf: a customer as they were at a past time — the audit
// question "what did the system know about customer 42 on 31 March?".
//
// Operation: when every event of the customer occurred at or before
// `as_of`, the stored state is the answer. Otherwise the customer's
// timeline (every event folded for them, in log order) is read from the
// start and the events that occurred at or before `as_of` are folded again
// with FoldEvent (projections/customer_fold.h), the projector's own code.
// The result is the row a replay with the business-time cut `--until
// as_of` (projections/replay.h) writes for this customer — the same events
// in the same order through the same fold — so an as-of read and such a
// replay always agree, and it costs one scan of one customer's timeline
// instead of a replay. Its last_partition / last_offset / last_event_id
// name the last event it folded: the log position the answer used.
//
// Concurrency: thread-safe (reads only).
#ifndef KEHU_QUERY_CUSTOMER_HISTORY_H_
#define KEHU_QUERY_CUSTOMER_HISTORY_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "infra/projection_store.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::query {

// Whether `current`, a customer's stored row, is already the customer as
// of `as_of`: every event of theirs occurred at or before it, so
// CustomerStateAsOf() returns the row without reading the timeline.
bool RowAnswersAsOf(const store::v1::CustomerState& current, absl::Time as_of);

// The state of the customer whose current row is `current`, as of
// `as_of`; nullopt when none of their events had occurred by then.
// DATA_LOSS when a timeline row does not parse.
absl::StatusOr<std::optional<store::v1::CustomerState>> CustomerStateAsOf(
    const infra::ProjectionStore& store,
    const store::v1::CustomerState& current, absl::Time as_of);

}  // namespace kehu::query

#endif  // KEHU_QUERY_CUSTOMER_HISTORY_H_
