#include "projections/partition_projector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "infra/check.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "projections/customer_fold.h"
#include "projections/record_admission.h"

namespace kehu::projections {

using infra::schema::Family;
namespace schema = infra::schema;

absl::StatusOr<std::unique_ptr<PartitionProjector>> PartitionProjector::Create(
    infra::ProjectionStore* store, int32_t partition, size_t cache_customers,
    int32_t partition_count) {
  auto projector = std::unique_ptr<PartitionProjector>(new PartitionProjector(
      store, partition, cache_customers, partition_count));
  KEHU_ASSIGN_OR_RETURN(projector->progress_, store->GetProgress(partition));
  return projector;
}

PartitionProjector::PartitionProjector(infra::ProjectionStore* store,
                                       int32_t partition,
                                       size_t cache_customers,
                                       int32_t partition_count)
    : store_(store),
      partition_(partition),
      cache_customers_(cache_customers),
      partition_count_(partition_count),
      segments_(store) {}

absl::Status PartitionProjector::Process(
    const std::vector<infra::LogRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  const store::v1::PartitionProgress progress = progress_;
  absl::Status s;
  for (const auto& record : records) {
    KEHU_CHECK(record.partition == partition_);
    KEHU_CHECK(record.offset == progress_.next_offset());
    s = Apply(record, &batch);
    if (!s.ok()) break;
    progress_.set_next_offset(record.offset + 1);
  }
  if (s.ok()) s = Commit(&batch);
  batch_dedup_.clear();
  if (!s.ok()) {
    // The cache now holds state the store does not: drop it, and go back to
    // the committed progress so that a retry refolds the batch.
    cache_.clear();
    progress_ = progress;
    return s;
  }
  // Bounded cache: every entry is clean now, so any may go.
  if (cache_.size() > cache_customers_) cache_.clear();
  return absl::OkStatus();
}

absl::Status PartitionProjector::Commit(rocksdb::WriteBatch* batch) {
  std::vector<CachedCustomer*> written;
  for (auto& [id, customer] : cache_) {
    if (!customer.dirty) continue;
    written.push_back(&customer);
  }
  std::vector<IndexedValues> indexed;
  indexed.reserve(written.size());
  for (CachedCustomer* customer : written) {
    indexed.push_back(PutCustomerRows(
        customer->state,
        customer->indexed.has_value() ? &*customer->indexed : nullptr, store_,
        batch));
  }
  batch->Put(store_->family(Family::kOffsets), schema::PartitionKey(partition_),
             progress_.SerializeAsString());
  absl::Status s;
  {
    // The segment rows are read and written under the mutex, so that a
    // refresh of every customer cannot slip in between.
    absl::ReaderMutexLock lock(&store_->segment_mutex());
    const auto population = store_->population();
    SegmentIndex::CounterDeltas deltas;
    for (CachedCustomer* customer : written) {
      s = segments_.Update(customer->state, *population, batch, &deltas);
      if (!s.ok()) break;
    }
    if (s.ok()) {
      segments_.WriteCounters(deltas, batch);
      s = store_->Write(batch);
    }
  }
  if (!s.ok()) return s;
  for (size_t i = 0; i < written.size(); ++i) {
    written[i]->indexed = indexed[i];
    written[i]->dirty = false;
  }
  return absl::OkStatus();
}

absl::Status PartitionProjector::Apply(const infra::LogRecord& record,
                                       rocksdb::WriteBatch* batch) {
  events::v1::Event event;
  const Admission admission =
      AdmitRecord(infra::LogRecordView(record), /*cut=*/std::nullopt,
                  partition_count_, &event);
  if (admission.verdict == Admission::Verdict::kDeadLetter) {
    PutDeadLetter(infra::LogRecordView(record), admission, store_, batch);
  }
  if (admission.verdict != Admission::Verdict::kFold) {
    CountPassedOver(admission.verdict, &progress_);
    return absl::OkStatus();
  }

  const std::string dedup_key =
      schema::DedupKey(event.customer_id(), event.event_id());
  KEHU_ASSIGN_OR_RETURN(bool folded, AlreadyFolded(dedup_key));
  if (folded) {
    progress_.set_duplicates(progress_.duplicates() + 1);
    return absl::OkStatus();
  }
  KEHU_ASSIGN_OR_RETURN(CachedCustomer * customer, Load(event.customer_id()));
  FoldEvent(event, EventPosition{record.partition, record.offset},
            &customer->state);
  customer->dirty = true;

  std::string offset;
  schema::PutFixed64BE(&offset, static_cast<uint64_t>(record.offset));
  batch->Put(store_->family(Family::kDedup), dedup_key, offset);
  batch_dedup_.insert(dedup_key);
  batch->Put(store_->family(Family::kTimeline),
             schema::TimelineKey(event.customer_id(), record.offset),
             record.value);
  progress_.set_folded(progress_.folded() + 1);
  return absl::OkStatus();
}

absl::StatusOr<bool> PartitionProjector::AlreadyFolded(
    const std::string& dedup_key) {
  if (batch_dedup_.contains(dedup_key)) return true;
  std::string value;
  rocksdb::Status s =
      store_->db()->Get(rocksdb::ReadOptions(), store_->family(Family::kDedup),
                        dedup_key, &value);
  if (s.IsNotFound()) return false;
  KEHU_RETURN_IF_ERROR(infra::FromRocks(s, "reading dedup row"));
  return true;
}

absl::StatusOr<PartitionProjector::CachedCustomer*> PartitionProjector::Load(
    const std::string& customer_id) {
  auto it = cache_.find(customer_id);
  if (it != cache_.end()) return &it->second;
  KEHU_ASSIGN_OR_RETURN(auto stored, store_->GetCustomer(customer_id));
  CachedCustomer& customer = cache_[customer_id];
  if (stored.has_value()) {
    customer.state = std::move(*stored);
    customer.indexed = IndexedValuesOf(customer.state, *store_);
  }
  return &customer;
}

}  // namespace kehu::projections
