#include "query/customer_history.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "infra/store_schema.h"
#include "projections/customer_fold.h"

namespace kehu::query {

bool RowAnswersAsOf(const store::v1::CustomerState& current,
                    absl::Time as_of) {
  // Stored times are whole microseconds (rounded down): strictly earlier
  // than as_of's microsecond means at or before as_of.
  return current.last_interaction_at_us() < absl::ToUnixMicros(as_of);
}

absl::StatusOr<std::optional<store::v1::CustomerState>> CustomerStateAsOf(
    const infra::ProjectionStore& store,
    const store::v1::CustomerState& current, absl::Time as_of) {
  if (RowAnswersAsOf(current, as_of)) return current;

  const std::string prefix =
      infra::schema::TimelinePrefix(current.customer_id());
  std::string upper = prefix;
  upper.back() = static_cast<char>(upper.back() + 1);
  const rocksdb::Slice lower_bound(prefix), upper_bound(upper);
  rocksdb::ReadOptions read;
  read.iterate_lower_bound = &lower_bound;
  read.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(
      read, store.family(infra::schema::Family::kTimeline)));

  store::v1::CustomerState state;
  bool folded = false;
  events::v1::Event event;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    const int64_t offset = static_cast<int64_t>(
        infra::schema::DecodeFixed64BE(key.data() + key.size() - 8));
    if (!event.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("timeline row of ", current.customer_id(), " at offset ",
                       offset, " does not parse"));
    }
    // The cut of a replay `--until as_of`, to the nanosecond.
    const absl::Time occurred =
        absl::FromUnixSeconds(event.occurred_at().seconds()) +
        absl::Nanoseconds(event.occurred_at().nanos());
    if (occurred > as_of) continue;
    // A customer's events all sit in one partition (the customer id is the
    // partition key).
    projections::FoldEvent(
        event, projections::EventPosition{current.last_partition(), offset},
        &state);
    folded = true;
  }
  KEHU_RETURN_IF_ERROR(infra::FromRocks(it->status(), "scanning timeline"));
  if (!folded) return std::nullopt;
  return state;
}

}  // namespace kehu::query
