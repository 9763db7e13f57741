#include "projections/group_projector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "infra/kafka_admin.h"
#include "infra/kafka_status.h"
#include "infra/status_macros.h"

namespace kehu::projections {
namespace {

int ToMs(absl::Duration d) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 1 << 30));
}

}  // namespace

GroupProjector::GroupProjector(infra::ProjectionStore* store,
                               GroupProjectorOptions options)
    : store_(store), options_(std::move(options)) {}

GroupProjector::~GroupProjector() { Stop(); }

absl::Status GroupProjector::Start() {
  if (consumer_ != nullptr || thread_.joinable()) {
    return absl::FailedPreconditionError(
        "GroupProjector::Start() called twice");
  }
  KEHU_ASSIGN_OR_RETURN(
      infra::KafkaConfPtr conf,
      infra::MakeKafkaConf(infra::KafkaRole::kGroupConsumer, options_.brokers,
                           options_.properties, options_.group));
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &GroupProjector::OnRebalance);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), &GroupProjector::OnCommit);
  char errstr[512] = "";
  consumer_.reset(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof(errstr)));
  if (consumer_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create a Kafka consumer: ", errstr));
  }
  conf.release();  // Owned by consumer_ now.
  // Every event (records, rebalances, errors) on the one queue Run() polls.
  rd_kafka_poll_set_consumer(consumer_.get());

  absl::Status s = [&]() -> absl::Status {
    KEHU_ASSIGN_OR_RETURN(partition_count_, infra::FetchPartitionCount(
                                                consumer_.get(), options_.topic,
                                                options_.metadata_timeout));
    std::vector<store::v1::PartitionProgress> progress;
    for (int32_t p = 0; p < partition_count_; ++p) {
      KEHU_ASSIGN_OR_RETURN(auto one, store_->GetProgress(p));
      progress.push_back(std::move(one));
    }
    {
      absl::MutexLock lock(&mu_);
      progress_ = std::move(progress);
    }
    infra::KafkaPartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), options_.topic.c_str(),
                                      RD_KAFKA_PARTITION_UA);
    return infra::FromKafka(rd_kafka_subscribe(consumer_.get(), topics.get()),
                            absl::StrCat("subscribing to ", options_.topic,
                                         " in group ", options_.group));
  }();
  if (!s.ok()) {
    // Never joined: nothing to leave.
    rd_kafka_destroy_flags(consumer_.release(),
                           RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return s;
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void GroupProjector::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void GroupProjector::Kill() {
  killed_ = true;
  if (thread_.joinable()) thread_.join();
}

void GroupProjector::Fail(const absl::Status& s) {
  failed_ = true;
  absl::MutexLock lock(&mu_);
  if (status_.ok()) status_ = s;
}

void GroupProjector::Run() {
  while (!stopping_ && !killed_ && !failed_) {
    absl::Status s = PollRound();
    if (!s.ok()) Fail(s);
  }
  if (killed_) {
    uint64_t dropped = 0;
    for (const auto& [p, records] : pending_) dropped += records.size();
    {
      absl::MutexLock lock(&mu_);
      stats_.dropped_on_kill += dropped;
      assignment_.clear();
    }
    pending_.clear();
    projectors_.clear();
    // No LeaveGroup, no revocation, no commit: the group finds out when
    // the session times out, as after a crash.
    rd_kafka_destroy_flags(consumer_.release(),
                           RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return;
  }
  // Leave the group: librdkafka revokes every partition through
  // OnRebalance(), on this thread, which folds and commits what is pending.
  absl::Status s = infra::FromKafka(rd_kafka_consumer_close(consumer_.get()),
                                    "leaving the consumer group");
  if (!s.ok() && !failed_) Fail(s);
  consumer_.reset();
  projectors_.clear();
  pending_.clear();
}

absl::Status GroupProjector::PollRound() {
  size_t polled = 0;
  while (polled < options_.max_batch_events) {
    infra::KafkaMessagePtr message(rd_kafka_consumer_poll(
        consumer_.get(), polled == 0 ? ToMs(options_.poll_timeout) : 0));
    if (message == nullptr) break;
    if (killed_) {  // The batch dies with us.
      absl::MutexLock lock(&mu_);
      ++stats_.dropped_on_kill;
      return absl::OkStatus();
    }
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
        char detail[512] = "";
        rd_kafka_fatal_error(consumer_.get(), detail, sizeof(detail));
        return absl::AbortedError(absl::StrCat(
            "the Kafka consumer stopped after a fatal error: ", detail));
      }
      // librdkafka recovers from the rest on its own (broker down, leader
      // moved, ...).
      absl::MutexLock lock(&mu_);
      ++stats_.consumer_errors;
      continue;
    }
    KEHU_RETURN_IF_ERROR(Accept(*message));
    ++polled;
  }
  if (killed_) return absl::OkStatus();
  return FoldPending(nullptr);
}

absl::Status GroupProjector::Accept(const rd_kafka_message_t& message) {
  const int32_t partition = message.partition;
  auto it = projectors_.find(partition);
  if (it == projectors_.end()) {
    absl::MutexLock lock(&mu_);
    ++stats_.stale_records;
    return absl::OkStatus();
  }
  std::vector<infra::LogRecord>& batch = pending_[partition];
  const int64_t expected =
      it->second->next_offset() + static_cast<int64_t>(batch.size());
  if (message.offset < expected) {
    absl::MutexLock lock(&mu_);
    ++stats_.stale_records;
    return absl::OkStatus();
  }
  if (message.offset > expected) {
    return absl::DataLossError(absl::StrCat(
        options_.topic, "/", partition, ": the store continues at offset ",
        expected, " but the topic's next record is at ", message.offset,
        ": the records in between are gone (retention, compaction, a "
        "transaction marker, or a recreated topic); replay the topic into a "
        "fresh store"));
  }
  infra::LogRecord record;
  record.partition = partition;
  record.offset = message.offset;
  if (message.key != nullptr) {
    record.key.assign(static_cast<const char*>(message.key), message.key_len);
  }
  if (message.payload != nullptr) {
    record.value.assign(static_cast<const char*>(message.payload), message.len);
  }
  batch.push_back(std::move(record));
  return absl::OkStatus();
}

absl::Status GroupProjector::FoldPending(
    const std::vector<int32_t>* partitions) {
  infra::KafkaPartitionListPtr offsets(rd_kafka_topic_partition_list_new(4));
  for (auto& [partition, records] : pending_) {
    if (records.empty()) continue;
    if (partitions != nullptr &&
        std::find(partitions->begin(), partitions->end(), partition) ==
            partitions->end()) {
      continue;
    }
    if (options_.crash_before_fold &&
        options_.crash_before_fold(partition, records.size())) {
      killed_ = true;
      return absl::OkStatus();
    }
    PartitionProjector* projector = projectors_.at(partition).get();
    absl::Status s = projector->Process(records);
    const size_t count = records.size();
    records.clear();
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("projector of partition ",
                                                 partition, ": ", s.message()));
    }
    {
      absl::MutexLock lock(&mu_);
      progress_[partition] = projector->progress();
      ++stats_.batches;
      stats_.records += count;
    }
    rd_kafka_topic_partition_list_add(offsets.get(), options_.topic.c_str(),
                                      partition)
        ->offset = projector->next_offset();
  }
  // Only after the store commit, and only for lag tools: the result
  // (OnCommit) is counted, never fatal.
  if (offsets->cnt > 0 && !killed_) {
    rd_kafka_commit(consumer_.get(), offsets.get(), 1);
  }
  return absl::OkStatus();
}

void GroupProjector::OnCommit(rd_kafka_t*, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t*, void* opaque) {
  auto* self = static_cast<GroupProjector*>(opaque);
  absl::MutexLock lock(&self->mu_);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++self->stats_.kafka_commits;
  } else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    ++self->stats_.kafka_commit_failures;
  }
}

void GroupProjector::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t* partitions,
                                 void* opaque) {
  auto* self = static_cast<GroupProjector*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->Assign(partitions);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    self->Revoke(partitions);
  } else {
    self->Fail(infra::FromKafka(err, "consumer group rebalance"));
    // Give everything up, as the protocol asks.
    rd_kafka_topic_partition_list_t* held = nullptr;
    if (rd_kafka_assignment(rk, &held) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      infra::KafkaPartitionListPtr owned(held);
      self->Revoke(owned.get());
    }
  }
}

void GroupProjector::Assign(rd_kafka_topic_partition_list_t* partitions) {
  std::vector<int32_t> added;
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = partitions->elems[i];
    added.push_back(tp.partition);
    if (failed_ || tp.partition < 0 || tp.partition >= partition_count_) {
      // Not folded: records of it are skipped as stale.
      continue;
    }
    auto projector = PartitionProjector::Create(
        store_, tp.partition, options_.cache_customers, partition_count_);
    if (!projector.ok()) {
      Fail(absl::Status(
          projector.status().code(),
          absl::StrCat("loading the progress of partition ", tp.partition, ": ",
                       projector.status().message())));
      continue;
    }
    // The offset that counts: the store's, committed with the state.
    tp.offset = (*projector)->next_offset();
    {
      absl::MutexLock lock(&mu_);
      progress_[tp.partition] = (*projector)->progress();
    }
    pending_[tp.partition].clear();
    projectors_[tp.partition] = std::move(*projector);
  }
  infra::KafkaErrorPtr error(
      rd_kafka_incremental_assign(consumer_.get(), partitions));
  if (error != nullptr) {
    Fail(infra::FromKafkaError(error.get(), "taking assigned partitions"));
  }
  absl::MutexLock lock(&mu_);
  stats_.partitions_assigned += added.size();
  for (int32_t p : added) {
    if (std::find(assignment_.begin(), assignment_.end(), p) ==
        assignment_.end()) {
      assignment_.push_back(p);
    }
  }
  std::sort(assignment_.begin(), assignment_.end());
}

void GroupProjector::Revoke(rd_kafka_topic_partition_list_t* partitions) {
  const bool lost = rd_kafka_assignment_lost(consumer_.get());
  std::vector<int32_t> revoked;
  for (int i = 0; i < partitions->cnt; ++i) {
    revoked.push_back(partitions->elems[i].partition);
  }
  if (!killed_ && !failed_) {
    // Finish the batch in flight before giving the partitions up.
    absl::Status s = FoldPending(&revoked);
    if (!s.ok()) Fail(s);
  }
  if (!killed_ && !failed_ && !lost) {
    // Then tell Kafka, synchronously, how far they were folded, so that lag
    // tools see the hand-over; unless the group has already moved on.
    infra::KafkaPartitionListPtr offsets(rd_kafka_topic_partition_list_new(4));
    for (int32_t p : revoked) {
      auto it = projectors_.find(p);
      if (it == projectors_.end()) continue;
      rd_kafka_topic_partition_list_add(offsets.get(), options_.topic.c_str(),
                                        p)
          ->offset = it->second->next_offset();
    }
    if (offsets->cnt > 0) {
      const rd_kafka_resp_err_t err =
          rd_kafka_commit(consumer_.get(), offsets.get(), 0);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        absl::MutexLock lock(&mu_);
        ++stats_.kafka_commit_failures;
      }
    }
  }
  for (int32_t p : revoked) {
    projectors_.erase(p);
    pending_.erase(p);
  }
  infra::KafkaErrorPtr error(
      rd_kafka_incremental_unassign(consumer_.get(), partitions));
  if (error != nullptr && !failed_) {
    Fail(infra::FromKafkaError(error.get(), "giving up revoked partitions"));
  }
  absl::MutexLock lock(&mu_);
  stats_.partitions_revoked += revoked.size();
  if (lost) stats_.partitions_lost += revoked.size();
  for (int32_t p : revoked) {
    assignment_.erase(std::remove(assignment_.begin(), assignment_.end(), p),
                      assignment_.end());
  }
}

bool GroupProjector::WaitUntilFolded(const std::vector<int64_t>& end_offsets,
                                     absl::Time deadline) {
  return WaitForProgress(
             [&](const std::vector<store::v1::PartitionProgress>& progress) {
               if (progress.size() < end_offsets.size()) return false;
               for (size_t p = 0; p < end_offsets.size(); ++p) {
                 if (progress[p].next_offset() < end_offsets[p]) return false;
               }
               return true;
             },
             deadline) &&
         status().ok();
}

bool GroupProjector::WaitForProgress(
    const std::function<bool(const std::vector<store::v1::PartitionProgress>&)>&
        done,
    absl::Time deadline) {
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !status_.ok() || done(progress_);
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  return done(progress_);
}

bool GroupProjector::WaitForAssignment(
    const std::function<bool(const std::vector<int32_t>&)>& done,
    absl::Time deadline) {
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !status_.ok() || done(assignment_);
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  return done(assignment_);
}

absl::Status GroupProjector::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::vector<store::v1::PartitionProgress> GroupProjector::progress() const {
  absl::MutexLock lock(&mu_);
  return progress_;
}

std::vector<int32_t> GroupProjector::assignment() const {
  absl::MutexLock lock(&mu_);
  return assignment_;
}

GroupProjectorStats GroupProjector::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace kehu::projections
