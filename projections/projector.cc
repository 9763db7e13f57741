#include "projections/projector.h"

#include "absl/strings/str_cat.h"
#include "infra/status_macros.h"

namespace kehu::projections {

Projector::Projector(infra::EventLog* log, infra::ProjectionStore* store,
                     ProjectorOptions options)
    : log_(log), store_(store), options_(options) {}

Projector::~Projector() { Stop(); }

absl::Status Projector::Start() {
  const int32_t count = log_->partition_count();
  {
    absl::MutexLock lock(&mu_);
    progress_.assign(count, store::v1::PartitionProgress());
  }
  for (int32_t p = 0; p < count; ++p) {
    KEHU_ASSIGN_OR_RETURN(
        auto partition,
        PartitionProjector::Create(store_, p, options_.cache_customers, count));
    {
      absl::MutexLock lock(&mu_);
      progress_[p] = partition->progress();
    }
    partitions_.push_back(std::move(partition));
  }
  stopping_ = false;
  for (auto& partition : partitions_) {
    threads_.emplace_back([this, p = partition.get()] { Run(p); });
  }
  return absl::OkStatus();
}

void Projector::Stop() {
  stopping_ = true;
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  partitions_.clear();
}

void Projector::Run(PartitionProjector* partition) {
  std::vector<infra::LogRecord> records;
  while (!stopping_) {
    records.clear();
    absl::Status s =
        log_->Read(partition->partition(), partition->next_offset(),
                   options_.max_batch_events, &records);
    if (s.ok() && records.empty()) {
      log_->WaitForData(partition->partition(), partition->next_offset(),
                        absl::Now() + options_.idle_wait);
      continue;
    }
    if (s.ok()) s = partition->Process(records);
    absl::MutexLock lock(&mu_);
    if (!s.ok()) {
      if (status_.ok()) {
        status_ = absl::Status(
            s.code(), absl::StrCat("projector of partition ",
                                   partition->partition(), ": ", s.message()));
      }
      return;
    }
    progress_[partition->partition()] = partition->progress();
  }
}

bool Projector::WaitUntilFolded(const std::vector<int64_t>& end_offsets,
                                absl::Time deadline) {
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!status_.ok()) return true;
    for (size_t p = 0; p < end_offsets.size() && p < progress_.size(); ++p) {
      if (progress_[p].next_offset() < end_offsets[p]) return false;
    }
    return true;
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  if (!status_.ok()) return false;
  return done();
}

bool Projector::WaitUntilCaughtUp(absl::Time deadline) {
  std::vector<int64_t> end_offsets;
  for (int32_t p = 0; p < log_->partition_count(); ++p) {
    end_offsets.push_back(log_->EndOffset(p));
  }
  return WaitUntilFolded(end_offsets, deadline);
}

absl::Status Projector::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::vector<store::v1::PartitionProgress> Projector::progress() const {
  absl::MutexLock lock(&mu_);
  return progress_;
}

}  // namespace kehu::projections
