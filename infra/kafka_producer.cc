#include "infra/kafka_producer.h"

#include "absl/strings/str_cat.h"
#include "infra/kafka_admin.h"
#include "infra/kafka_status.h"
#include "infra/status_macros.h"

namespace kehu::infra {

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    const KafkaProducerOptions& options) {
  KEHU_ASSIGN_OR_RETURN(
      KafkaConfPtr conf,
      MakeKafkaConf(KafkaRole::kProducer, options.brokers, options.properties));
  auto producer = std::unique_ptr<KafkaProducer>(new KafkaProducer(options));
  rd_kafka_conf_set_opaque(conf.get(), producer.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaProducer::OnDelivery);
  rd_kafka_conf_set_error_cb(conf.get(), &KafkaProducer::OnError);
  char errstr[512] = "";
  producer->rk_.reset(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr)));
  if (producer->rk_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create a Kafka producer: ", errstr));
  }
  conf.release();  // Owned by rk_ now.
  producer->poller_ = std::thread([p = producer.get()] { p->PollLoop(); });
  KEHU_ASSIGN_OR_RETURN(producer->partition_count_,
                        FetchPartitionCount(producer->rk_.get(), options.topic,
                                            options.metadata_timeout));
  return producer;
}

KafkaProducer::KafkaProducer(const KafkaProducerOptions& options)
    : topic_(options.topic) {}

KafkaProducer::~KafkaProducer() {
  if (rk_ != nullptr) {
    rd_kafka_flush(rk_.get(), 10000);
  }
  stop_polling_ = true;
  if (poller_.joinable()) poller_.join();
}

void KafkaProducer::PollLoop() {
  while (!stop_polling_) rd_kafka_poll(rk_.get(), 100);
}

void KafkaProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message,
                               void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  auto* slot = static_cast<Slot*>(message->_private);
  absl::MutexLock lock(&self->mu_);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    slot->call->results[slot->index] =
        LogPosition{message->partition, message->offset};
    ++self->stats_.delivered;
  } else {
    slot->call->results[slot->index] = FromKafka(
        message->err, absl::StrCat("appending to Kafka topic ", self->topic_));
    ++self->stats_.failed;
  }
  --slot->call->outstanding;
}

void KafkaProducer::OnError(rd_kafka_t* rk, int err, const char* reason,
                            void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  absl::MutexLock lock(&self->mu_);
  ++self->stats_.cluster_errors;
  if (err == RD_KAFKA_RESP_ERR__FATAL && self->fatal_.ok()) {
    char detail[512] = "";
    const rd_kafka_resp_err_t cause =
        rd_kafka_fatal_error(rk, detail, sizeof(detail));
    self->fatal_ = absl::AbortedError(
        absl::StrCat("the Kafka producer stopped after a fatal error: ", detail,
                     " (", rd_kafka_err2name(cause), "); restart kehu"));
  }
}

std::vector<absl::StatusOr<LogPosition>> KafkaProducer::Produce(
    absl::Span<const LogAppend> records) {
  Call call;
  call.results.assign(records.size(),
                      absl::CancelledError("the Kafka producer is shut down"));
  {
    absl::MutexLock lock(&mu_);
    if (!fatal_.ok()) {
      call.results.assign(records.size(), fatal_);
      return call.results;
    }
  }
  std::vector<Slot> slots(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (shutdown_) break;
    slots[i] = Slot{&call, i};
    {
      absl::MutexLock lock(&mu_);
      ++call.outstanding;
    }
    while (true) {
      const LogAppend& r = records[i];
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
          RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(&slots[i]), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        // Back-pressure: wait for deliveries to free room, then retry.
        {
          absl::MutexLock lock(&mu_);
          ++stats_.queue_full_waits;
        }
        rd_kafka_poll(rk_.get(), 10);
        continue;
      }
      absl::MutexLock lock(&mu_);
      --call.outstanding;
      ++stats_.failed;
      call.results[i] =
          FromKafka(err, absl::StrCat("appending to Kafka topic ", topic_));
      break;
    }
  }
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](Call* c) { return c->outstanding == 0; }, &call));
  return call.results;
}

void KafkaProducer::Shutdown() { shutdown_ = true; }

absl::Status KafkaProducer::health() const {
  absl::MutexLock lock(&mu_);
  return fatal_;
}

KafkaProducerStats KafkaProducer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace kehu::infra
