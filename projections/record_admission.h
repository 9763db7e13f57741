// AdmitRecord: what a fold does with one log record before deduplication —
// fold its event, pass over it (a payload this version does not know, or
// an event after a replay's cut), or dead-letter it with the field and the
// rule it breaks. The live projector (partition_projector.h) and a replay
// (replay.h) both decide here, so that they fold the same events.
#ifndef KEHU_PROJECTIONS_RECORD_ADMISSION_H_
#define KEHU_PROJECTIONS_RECORD_ADMISSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "infra/event_log.h"
#include "infra/projection_store.h"
#include "kehu/events/v1/events.pb.h"
#include "kehu/store/v1/store.pb.h"
#include "rocksdb/write_batch.h"

namespace kehu::projections {

struct Admission {
  enum class Verdict {
    kFold,        // a valid event, to fold unless it is a duplicate
    kUnknown,     // a payload this version does not know: counted, skipped
    kAfterCut,    // occurred after the cut: counted, skipped
    kDeadLetter,  // broken: dead-lettered with `field` and `reason`
  };
  Verdict verdict = Verdict::kFold;
  // kDeadLetter: the offending field ("" when the record does not parse).
  std::string field;
  // kDeadLetter: the rule it broke.
  std::string reason;
};

// Decodes `record` into `event` and judges it. With `partition_count` > 0,
// a record whose key murmur2 assigns to another partition is dead-lettered:
// a client that did not partition like Kafka's Java client would otherwise
// split a customer over two partitions, whose folds run in no defined
// order. `cut`: leave out events that occurred after it (nullopt: no cut).
Admission AdmitRecord(const infra::LogRecordView& record,
                      const std::optional<absl::Time>& cut,
                      int32_t partition_count, events::v1::Event* event);

// Whether AdmitRecord() can judge a record with `key` in `partition` one
// to fold: its key is short enough to be a customer id, and murmur2 puts
// it in `partition` (with `partition_count` > 0). Cheap: nothing is
// decoded.
bool MayFold(std::string_view key, int32_t partition, int32_t partition_count);

// Adds to `batch` the dead-letter row of `record` (raw bytes, position and
// reason), for an admission that is kDeadLetter.
void PutDeadLetter(const infra::LogRecordView& record,
                   const Admission& admission, infra::ProjectionStore* store,
                   rocksdb::WriteBatch* batch);

// Counts a verdict other than kFold in `progress` (dead_lettered,
// unknown_skipped or after_cut); a folded event is counted by the caller
// once it knows whether it is a duplicate.
void CountPassedOver(Admission::Verdict verdict,
                     store::v1::PartitionProgress* progress);

}  // namespace kehu::projections

#endif  // KEHU_PROJECTIONS_RECORD_ADMISSION_H_
