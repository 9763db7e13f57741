#include "projections/partition_projector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "infra/check.h"
#include "infra/event_validation.h"
#include "infra/murmur2.h"
#include "infra/rocks_status.h"
#include "infra/status_macros.h"
#include "projections/customer_fold.h"

namespace kehu::projections {

using infra::schema::Family;
using infra::schema::IndexMetric;
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
  if (broken_) {
    return absl::FailedPreconditionError(
        "an earlier commit of this bulk load failed; the store is incomplete");
  }
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
  // In bulk load mode the customers are written when they leave the cache,
  // and when it is over its bound all of them leave after this batch.
  const bool evict = cache_.size() > cache_customers_;
  if (s.ok()) s = Commit(&batch, !bulk_load_ || evict);
  batch_dedup_.clear();
  if (!s.ok()) {
    // The cache now holds state the store does not: drop it, and go back to
    // the committed progress so that a retry refolds the batch. In bulk
    // load mode it also held customers folded by earlier batches.
    cache_.clear();
    progress_ = progress;
    if (bulk_load_) broken_ = true;
    return s;
  }
  // Bounded cache: every entry is clean now, so any may go.
  if (evict) cache_.clear();
  return absl::OkStatus();
}

absl::Status PartitionProjector::Finish() {
  if (broken_) {
    return absl::FailedPreconditionError(
        "an earlier commit of this bulk load failed; the store is incomplete");
  }
  const bool any_dirty =
      std::any_of(cache_.begin(), cache_.end(),
                  [](const auto& entry) { return entry.second.dirty; });
  if (!any_dirty) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  absl::Status s = Commit(&batch, /*write_customers=*/true);
  if (!s.ok()) {
    cache_.clear();
    if (bulk_load_) broken_ = true;
  }
  return s;
}

absl::Status PartitionProjector::Commit(rocksdb::WriteBatch* batch,
                                        bool write_customers) {
  std::vector<CachedCustomer*> written;
  if (write_customers) {
    for (auto& [id, customer] : cache_) {
      if (customer.dirty) {
        PutCustomer(&customer, batch);
        written.push_back(&customer);
      }
    }
  }
  batch->Put(store_->family(Family::kOffsets), schema::PartitionKey(partition_),
             progress_.SerializeAsString());
  absl::Status s;
  if (bulk_load_) {
    s = store_->Write(batch);
  } else {
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
  for (CachedCustomer* customer : written) {
    const auto* totals =
        FindTotals(customer->state, store_->reporting_currency());
    customer->indexed = true;
    customer->revenue = totals != nullptr ? totals->revenue_minor() : 0;
    customer->margin = totals != nullptr ? totals->margin_minor() : 0;
    customer->purchases = customer->state.purchase_count();
    customer->dirty = false;
  }
  return absl::OkStatus();
}

absl::Status PartitionProjector::Apply(const infra::LogRecord& record,
                                       rocksdb::WriteBatch* batch) {
  events::v1::Event event;
  if (!event.ParseFromString(record.value)) {
    DeadLetter(record, "", "does not parse as a kehu.events.v1.Event", batch);
    return absl::OkStatus();
  }
  if (cut_.has_value() && event.has_occurred_at() &&
      absl::FromUnixSeconds(event.occurred_at().seconds()) +
              absl::Nanoseconds(event.occurred_at().nanos()) >
          *cut_) {
    progress_.set_after_cut(progress_.after_cut() + 1);
    return absl::OkStatus();
  }
  if (infra::IsUnknownPayload(event)) {
    progress_.set_unknown_skipped(progress_.unknown_skipped() + 1);
    return absl::OkStatus();
  }
  if (auto invalid = infra::ValidateEvent(event)) {
    DeadLetter(record, invalid->field, invalid->reason, batch);
    return absl::OkStatus();
  }
  if (record.key != event.customer_id()) {
    DeadLetter(record, "customer_id",
               "must equal the record key (the partition key)", batch);
    return absl::OkStatus();
  }
  if (partition_count_ > 0 &&
      infra::PartitionForKey(record.key, partition_count_) != partition_) {
    DeadLetter(
        record, "customer_id",
        absl::StrCat("belongs to partition ",
                     infra::PartitionForKey(record.key, partition_count_),
                     " (murmur2 of the key, as Kafka's Java client "
                     "partitions), not ",
                     partition_, "; produce with partitioner=murmur2_random"),
        batch);
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

void PartitionProjector::DeadLetter(const infra::LogRecord& record,
                                    const std::string& field,
                                    const std::string& reason,
                                    rocksdb::WriteBatch* batch) {
  store::v1::DeadLetter letter;
  letter.set_partition(record.partition);
  letter.set_offset(record.offset);
  letter.set_key(record.key);
  letter.set_value(record.value);
  letter.set_field(field);
  letter.set_reason(reason);
  batch->Put(store_->family(Family::kDeadLetter),
             schema::DeadLetterKey(record.partition, record.offset),
             letter.SerializeAsString());
  progress_.set_dead_lettered(progress_.dead_lettered() + 1);
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
    const auto* totals =
        FindTotals(customer.state, store_->reporting_currency());
    customer.indexed = true;
    customer.revenue = totals != nullptr ? totals->revenue_minor() : 0;
    customer.margin = totals != nullptr ? totals->margin_minor() : 0;
    customer.purchases = customer.state.purchase_count();
  }
  return &customer;
}

void PartitionProjector::PutCustomer(CachedCustomer* customer,
                                     rocksdb::WriteBatch* batch) {
  const store::v1::CustomerState& state = customer->state;
  batch->Put(store_->family(Family::kCustomers),
             schema::CustomerKey(state.customer_id()),
             state.SerializeAsString());

  const auto* totals = FindTotals(state, store_->reporting_currency());
  const struct {
    IndexMetric metric;
    int64_t old_value;
    int64_t new_value;
  } indexes[] = {
      {IndexMetric::kRevenue, customer->revenue,
       totals != nullptr ? totals->revenue_minor() : 0},
      {IndexMetric::kMargin, customer->margin,
       totals != nullptr ? totals->margin_minor() : 0},
      {IndexMetric::kPurchaseCount, customer->purchases,
       state.purchase_count()},
  };
  rocksdb::ColumnFamilyHandle* family = store_->family(Family::kIndexes);
  for (const auto& index : indexes) {
    if (customer->indexed && index.old_value == index.new_value) continue;
    if (customer->indexed) {
      batch->Delete(family, schema::IndexKey(index.metric, index.old_value,
                                             state.customer_id()));
    }
    batch->Put(
        family,
        schema::IndexKey(index.metric, index.new_value, state.customer_id()),
        "");
  }
}

}  // namespace kehu::projections
