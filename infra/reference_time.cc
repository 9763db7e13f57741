#include "infra/reference_time.h"

#include "absl/strings/str_cat.h"

namespace kehu::infra {

absl::StatusOr<absl::Time> ReferenceTime(
    const google::protobuf::Timestamp& as_of, bool has_as_of, absl::Time now,
    absl::Duration max_skew) {
  if (!has_as_of) return now;
  if (as_of.nanos() < 0 || as_of.nanos() > 999999999) {
    return absl::InvalidArgumentError(absl::StrCat(
        "as_of: nanos must lie in 0..999999999, got ", as_of.nanos()));
  }
  const absl::Time t =
      absl::FromUnixSeconds(as_of.seconds()) + absl::Nanoseconds(as_of.nanos());
  if (t > now + max_skew) {
    return absl::InvalidArgumentError(
        absl::StrCat("as_of: must not lie in the future (more than ",
                     absl::FormatDuration(max_skew), " after the server's now ",
                     absl::FormatTime(now), "), got ", absl::FormatTime(t)));
  }
  return t;
}

}  // namespace kehu::infra
