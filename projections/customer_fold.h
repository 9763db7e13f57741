// FoldEvent: how each event type changes a customer's state. This is the
// one place where an event type is folded; start reading here.
//
// Folds are deterministic: the new state depends only on the old state and
// the event (never on the wall clock), so replaying the same log yields
// byte-identical state rows.
#ifndef KEHU_PROJECTIONS_CUSTOMER_FOLD_H_
#define KEHU_PROJECTIONS_CUSTOMER_FOLD_H_

#include <cstdint>

#include "kehu/events/v1/events.pb.h"
#include "kehu/store/v1/store.pb.h"

namespace kehu::projections {

// Where an event sits in the log.
struct EventPosition {
  int32_t partition = 0;
  int64_t offset = 0;
};

// Folds `event` into `state`.
// REQUIRES: infra::ValidateEvent(event) found nothing wrong, a payload is
// set, and state->customer_id() is empty or equals event.customer_id().
void FoldEvent(const events::v1::Event& event, EventPosition position,
               store::v1::CustomerState* state);

// The totals row of `currency`, or nullptr when the customer has none.
const store::v1::CurrencyTotals* FindTotals(
    const store::v1::CustomerState& state, const std::string& currency);

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_CUSTOMER_FOLD_H_
