// The reference time ("as_of") of a request, checked once for every API.
#ifndef KEHU_INFRA_REFERENCE_TIME_H_
#define KEHU_INFRA_REFERENCE_TIME_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace kehu::infra {

// Returns `now` when the request has no as_of (`has_as_of` false), else the
// requested time. INVALID_ARGUMENT naming as_of when its nanos are out of
// range or it lies more than `max_skew` after `now`.
absl::StatusOr<absl::Time> ReferenceTime(
    const google::protobuf::Timestamp& as_of, bool has_as_of, absl::Time now,
    absl::Duration max_skew);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_REFERENCE_TIME_H_
