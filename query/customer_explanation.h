// The Explain call: why a customer is in a tier, Pareto set, lifecycle
// stage, satisfaction band, churn-risk band or value-matrix cell at a
// reference time.
//
// Operation: EvaluateCustomer() classifies the customer exactly as
// GetCustomer does and, asked to, records how (infra/explanation.h): the
// facts, the rule's steps and the records (orders, complaints, surveys)
// behind the facts. The customer state keeps those records, not the events
// that made them, so the events are then looked up in the customer's
// timeline: latest in the log first, at most kMaxExplainExamined rows.
//
// The caller passes the customer as of then (customer_history.h: events
// after as_of are not in it, returns and cancellations included) and the
// population GetCustomer uses at the same as_of, so the explanation is of
// the value GetCustomer shows.
#ifndef KEHU_QUERY_CUSTOMER_EXPLANATION_H_
#define KEHU_QUERY_CUSTOMER_EXPLANATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "infra/projection_store.h"
#include "kehu/query/v1/query.pb.h"
#include "query/customer_analytics.h"

namespace kehu::query {

// Timeline rows one Explain call examines at most.
inline constexpr int64_t kMaxExplainExamined = 10000;
// Contributing events listed when the request does not say.
inline constexpr int32_t kDefaultExplainEvents = 20;
// Largest ExplainRequest.max_events accepted.
inline constexpr int32_t kMaxExplainEvents = 1000;

// Checks the fields ExplainCustomer reads besides the customer id and
// as_of (the classification and max_events): INVALID_ARGUMENT naming the
// field.
absl::Status CheckExplainRequest(const query::v1::ExplainRequest& request);

// Fills `response` with the explanation of `request.classification()` for
// the customer `state` at `as_of` in `population`, events included (read
// from `store`'s timeline).
// REQUIRES: CheckExplainRequest(request) is OK;
//           state.customer_id() == request.customer_id().
absl::Status ExplainCustomer(const infra::ProjectionStore& store,
                             const store::v1::CustomerState& state,
                             const store::v1::PopulationModel& population,
                             absl::Time as_of, const AnalyticsConfig& config,
                             const query::v1::ExplainRequest& request,
                             query::v1::ExplainResponse* response);

}  // namespace kehu::query

#endif  // KEHU_QUERY_CUSTOMER_EXPLANATION_H_
