#include "projections/record_admission.h"

#include "absl/strings/str_cat.h"
#include "infra/event_validation.h"
#include "infra/murmur2.h"

namespace kehu::projections {

namespace schema = infra::schema;
using Verdict = Admission::Verdict;

Admission AdmitRecord(const infra::LogRecordView& record,
                      const std::optional<absl::Time>& cut,
                      int32_t partition_count, events::v1::Event* event) {
  if (!event->ParseFromArray(record.value.data(),
                             static_cast<int>(record.value.size()))) {
    return {Verdict::kDeadLetter, "",
            "does not parse as a kehu.events.v1.Event"};
  }
  if (cut.has_value() && event->has_occurred_at() &&
      absl::FromUnixSeconds(event->occurred_at().seconds()) +
              absl::Nanoseconds(event->occurred_at().nanos()) >
          *cut) {
    return {Verdict::kAfterCut, "", ""};
  }
  if (infra::IsUnknownPayload(*event)) return {Verdict::kUnknown, "", ""};
  if (auto invalid = infra::ValidateEvent(*event)) {
    return {Verdict::kDeadLetter, invalid->field, invalid->reason};
  }
  if (record.key != event->customer_id()) {
    return {Verdict::kDeadLetter, "customer_id",
            "must equal the record key (the partition key)"};
  }
  if (partition_count > 0) {
    const int32_t owner = infra::PartitionForKey(record.key, partition_count);
    if (owner != record.partition) {
      return {Verdict::kDeadLetter, "customer_id",
              absl::StrCat("belongs to partition ", owner,
                           " (murmur2 of the key, as Kafka's Java client "
                           "partitions), not ",
                           record.partition,
                           "; produce with partitioner=murmur2_random")};
    }
  }
  return {Verdict::kFold, "", ""};
}

bool MayFold(std::string_view key, int32_t partition, int32_t partition_count) {
  // A longer key is not the customer_id of a valid event (ValidateEvent).
  if (key.size() > infra::kMaxIdBytes) return false;
  return partition_count <= 0 ||
         infra::PartitionForKey(key, partition_count) == partition;
}

void PutDeadLetter(const infra::LogRecordView& record,
                   const Admission& admission, infra::ProjectionStore* store,
                   rocksdb::WriteBatch* batch) {
  store::v1::DeadLetter letter;
  letter.set_partition(record.partition);
  letter.set_offset(record.offset);
  letter.set_key(std::string(record.key));
  letter.set_value(std::string(record.value));
  letter.set_field(admission.field);
  letter.set_reason(admission.reason);
  batch->Put(store->family(schema::Family::kDeadLetter),
             schema::DeadLetterKey(record.partition, record.offset),
             letter.SerializeAsString());
}

void CountPassedOver(Verdict verdict, store::v1::PartitionProgress* progress) {
  switch (verdict) {
    case Verdict::kFold:
      break;
    case Verdict::kUnknown:
      progress->set_unknown_skipped(progress->unknown_skipped() + 1);
      break;
    case Verdict::kAfterCut:
      progress->set_after_cut(progress->after_cut() + 1);
      break;
    case Verdict::kDeadLetter:
      progress->set_dead_lettered(progress->dead_lettered() + 1);
      break;
  }
}

}  // namespace kehu::projections
