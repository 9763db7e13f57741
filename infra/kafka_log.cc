#include "infra/kafka_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "infra/kafka_admin.h"
#include "infra/kafka_status.h"
#include "infra/status_macros.h"

namespace kehu::infra {
namespace {

int ToMs(absl::Duration d) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 1 << 30));
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaLog>> KafkaLog::Open(
    const KafkaLogOptions& options) {
  std::unique_ptr<KafkaProducer> producer;
  if (!options.read_only) {
    KafkaProducerOptions producer_options;
    producer_options.brokers = options.brokers;
    producer_options.topic = options.topic;
    producer_options.properties = options.properties;
    producer_options.metadata_timeout = options.metadata_timeout;
    KEHU_ASSIGN_OR_RETURN(producer, KafkaProducer::Create(producer_options));
  }

  KEHU_ASSIGN_OR_RETURN(
      KafkaConfPtr conf,
      MakeKafkaConf(KafkaRole::kReader, options.brokers, options.properties));
  char errstr[512] = "";
  KafkaHandle reader(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof(errstr)));
  if (reader == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create a Kafka consumer: ", errstr));
  }
  conf.release();  // Owned by the reader now.

  auto log =
      std::unique_ptr<KafkaLog>(new KafkaLog(options, std::move(producer)));
  log->reader_ = std::move(reader);
  if (log->producer_ != nullptr) {
    log->partition_count_ = log->producer_->partition_count();
  } else {
    KEHU_ASSIGN_OR_RETURN(log->partition_count_,
                          FetchPartitionCount(log->reader_.get(), options.topic,
                                              options.metadata_timeout));
  }
  {
    absl::MutexLock lock(&log->end_mu_);
    log->known_end_.assign(log->partition_count_, 0);
  }
  for (int32_t p = 0; p < log->partition_count_; ++p) {
    log->readers_.push_back(std::make_unique<PartitionReader>());
  }
  return log;
}

KafkaLog::KafkaLog(const KafkaLogOptions& options,
                   std::unique_ptr<KafkaProducer> producer)
    : options_(options), producer_(std::move(producer)) {}

KafkaLog::~KafkaLog() {
  // Partition queues go before the consumer that owns them.
  readers_.clear();
  reader_.reset();
}

absl::StatusOr<std::vector<LogPosition>> KafkaLog::Append(
    absl::Span<const LogAppend> records) {
  if (shutdown_) return absl::CancelledError("the event log is shut down");
  if (producer_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the Kafka log of topic ", options_.topic, " was opened for reading"));
  }
  std::vector<LogPosition> positions;
  positions.reserve(records.size());
  for (auto& result : producer_->Produce(records)) {
    if (!result.ok()) return result.status();
    positions.push_back(*result);
  }
  for (const LogPosition& p : positions) NoteEnd(p.partition, p.offset + 1);
  return positions;
}

void KafkaLog::NoteEnd(int32_t partition, int64_t end) const {
  absl::MutexLock lock(&end_mu_);
  known_end_[partition] = std::max(known_end_[partition], end);
}

absl::StatusOr<int64_t> KafkaLog::QueryEnd(int32_t partition) const {
  int64_t low = 0;
  int64_t high = 0;
  KEHU_RETURN_IF_ERROR(FromKafka(
      rd_kafka_query_watermark_offsets(reader_.get(), options_.topic.c_str(),
                                       partition, &low, &high,
                                       ToMs(options_.metadata_timeout)),
      absl::StrCat("asking for the end of ", options_.topic, "/", partition)));
  NoteEnd(partition, high);
  absl::MutexLock lock(&end_mu_);
  return known_end_[partition];
}

int64_t KafkaLog::EndOffset(int32_t partition) const {
  auto end = QueryEnd(partition);
  if (end.ok()) return *end;
  absl::MutexLock lock(&end_mu_);
  return known_end_[partition];
}

absl::Status KafkaLog::Position(PartitionReader* reader, int32_t partition,
                                int64_t offset) {
  while (!reader->buffered.empty() &&
         reader->buffered.front().offset < offset) {
    reader->buffered.pop_front();
  }
  if (!reader->buffered.empty() && reader->buffered.front().offset == offset) {
    return absl::OkStatus();
  }
  if (reader->buffered.empty() && reader->assigned && reader->next == offset) {
    return absl::OkStatus();
  }
  reader->buffered.clear();
  if (reader->queue == nullptr) {
    reader->queue.reset(rd_kafka_queue_get_partition(
        reader_.get(), options_.topic.c_str(), partition));
    if (reader->queue == nullptr) {
      return absl::InternalError(absl::StrCat("no librdkafka queue for ",
                                              options_.topic, "/", partition));
    }
    // Keep this partition's records out of the consumer's common queue.
    rd_kafka_queue_forward(reader->queue.get(), nullptr);
  }
  KafkaPartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(),
                                    partition)
      ->offset = offset;
  const std::string what =
      absl::StrCat("positioning the reader of ", options_.topic, "/", partition,
                   " at offset ", offset);
  if (!reader->assigned) {
    KafkaErrorPtr error(rd_kafka_incremental_assign(reader_.get(), list.get()));
    KEHU_RETURN_IF_ERROR(FromKafkaError(error.get(), what));
    reader->assigned = true;
  } else {
    KafkaErrorPtr error(rd_kafka_seek_partitions(
        reader_.get(), list.get(), ToMs(options_.metadata_timeout)));
    KEHU_RETURN_IF_ERROR(FromKafkaError(error.get(), what));
    KEHU_RETURN_IF_ERROR(FromKafka(list->elems[0].err, what));
  }
  reader->next = offset;
  return absl::OkStatus();
}

absl::Status KafkaLog::Pull(PartitionReader* reader, int32_t partition,
                            absl::Duration timeout) {
  // Serve the consumer's own events (errors, logs) now and then.
  rd_kafka_poll(reader_.get(), 0);
  KafkaMessagePtr message(
      rd_kafka_consume_queue(reader->queue.get(), ToMs(timeout)));
  if (message == nullptr) return absl::OkStatus();
  if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return absl::OkStatus();
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // The next read must position again.
    reader->assigned = reader->assigned &&
                       message->err != RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE;
    absl::Status s = FromKafka(
        message->err, absl::StrCat("reading ", options_.topic, "/", partition,
                                   " at offset ", reader->next));
    return absl::Status(s.code(),
                        absl::StrCat(s.message(), ": ",
                                     rd_kafka_message_errstr(message.get())));
  }
  if (message->offset < reader->next) return absl::OkStatus();  // Stale.
  if (message->offset > reader->next) {
    return absl::FailedPreconditionError(absl::StrCat(
        options_.topic, "/", partition, " has no record at offset ",
        reader->next, " (the next is at ", message->offset,
        "): kehu needs consecutive offsets, so the event topic must not be "
        "compacted nor written by transactional producers"));
  }
  LogRecord record;
  record.partition = partition;
  record.offset = message->offset;
  if (message->key != nullptr) {
    record.key.assign(static_cast<const char*>(message->key), message->key_len);
  }
  if (message->payload != nullptr) {
    record.value.assign(static_cast<const char*>(message->payload),
                        message->len);
  }
  reader->next = message->offset + 1;
  NoteEnd(partition, reader->next);
  reader->buffered.push_back(std::move(record));
  return absl::OkStatus();
}

absl::Status KafkaLog::Read(int32_t partition, int64_t offset,
                            size_t max_records, std::vector<LogRecord>* out) {
  if (partition < 0 || partition >= partition_count_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition ", partition, " out of range [0, ", partition_count_, ")"));
  }
  if (offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat("negative offset ", offset));
  }
  if (max_records == 0) return absl::OkStatus();
  PartitionReader* reader = readers_[partition].get();
  absl::MutexLock lock(&reader->mu);
  const bool positioned =
      (!reader->buffered.empty() && reader->buffered.front().offset <= offset &&
       reader->buffered.back().offset >= offset) ||
      (reader->buffered.empty() && reader->assigned && reader->next == offset);
  if (!positioned) {
    // Never position past the end: Kafka would call it out of range.
    KEHU_ASSIGN_OR_RETURN(int64_t end, QueryEnd(partition));
    if (offset >= end) return absl::OkStatus();
  }
  KEHU_RETURN_IF_ERROR(Position(reader, partition, offset));
  auto drain = [&]() -> absl::Status {
    while (reader->buffered.size() < max_records) {
      const size_t before = reader->buffered.size();
      KEHU_RETURN_IF_ERROR(Pull(reader, partition, absl::ZeroDuration()));
      if (reader->buffered.size() == before) break;
    }
    return absl::OkStatus();
  };
  KEHU_RETURN_IF_ERROR(drain());
  if (reader->buffered.empty()) {
    KEHU_ASSIGN_OR_RETURN(int64_t end, QueryEnd(partition));
    if (offset >= end) return absl::OkStatus();
    // The records exist: wait for the fetch to bring them.
    const absl::Time deadline = absl::Now() + options_.read_timeout;
    while (reader->buffered.empty() && absl::Now() < deadline) {
      KEHU_RETURN_IF_ERROR(Pull(reader, partition, absl::Milliseconds(100)));
    }
    if (reader->buffered.empty()) {
      return absl::UnavailableError(
          absl::StrCat("no record of ", options_.topic, "/", partition,
                       " at offset ", offset, " arrived within ",
                       absl::FormatDuration(options_.read_timeout),
                       " though the end is ", end));
    }
    KEHU_RETURN_IF_ERROR(drain());
  }
  const size_t n = std::min(max_records, reader->buffered.size());
  for (size_t i = 0; i < n; ++i) {
    out->push_back(std::move(reader->buffered.front()));
    reader->buffered.pop_front();
  }
  return absl::OkStatus();
}

bool KafkaLog::WaitForData(int32_t partition, int64_t offset,
                           absl::Time deadline) {
  PartitionReader* reader = readers_[partition].get();
  absl::MutexLock lock(&reader->mu);
  for (const LogRecord& r : reader->buffered) {
    if (r.offset >= offset) return true;
  }
  {
    absl::MutexLock end_lock(&end_mu_);
    if (known_end_[partition] > offset) return true;
  }
  if (!Position(reader, partition, offset).ok()) return false;
  while (!shutdown_) {
    if (!reader->buffered.empty()) return true;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    if (!Pull(reader, partition, std::min(left, absl::Milliseconds(100)))
             .ok()) {
      return false;
    }
  }
  return false;
}

void KafkaLog::Shutdown() {
  shutdown_ = true;
  if (producer_ != nullptr) producer_->Shutdown();
}

}  // namespace kehu::infra
