#include "infra/kafka_mock_cluster.h"

#include "absl/strings/str_cat.h"
#include "infra/kafka_config.h"
#include "infra/kafka_status.h"
#include "infra/status_macros.h"

namespace kehu::infra {
namespace {

// The cluster's own handle connects nowhere; its warning about a missing
// bootstrap.servers is noise.
void DropLog(const rd_kafka_t*, int, const char*, const char*) {}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaMockCluster>> KafkaMockCluster::Create(
    int brokers) {
  if (brokers < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a mock cluster needs at least one broker, got ", brokers));
  }
  KafkaConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), DropLog);
  char errstr[512] = "";
  KafkaHandle handle(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr)));
  if (handle == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create the mock cluster's handle: ", errstr));
  }
  conf.release();  // Owned by the handle now.
  auto cluster = std::unique_ptr<KafkaMockCluster>(new KafkaMockCluster());
  cluster->cluster_ = rd_kafka_mock_cluster_new(handle.get(), brokers);
  if (cluster->cluster_ == nullptr) {
    return absl::InternalError("cannot start the mock Kafka cluster");
  }
  cluster->handle_ = std::move(handle);
  cluster->bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster->cluster_);
  cluster->broker_count_ = brokers;
  return cluster;
}

KafkaMockCluster::~KafkaMockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

absl::Status KafkaMockCluster::CreateTopic(const std::string& topic,
                                           int partitions, int replication) {
  return FromKafka(rd_kafka_mock_topic_create(cluster_, topic.c_str(),
                                              partitions, replication),
                   absl::StrCat("creating mock topic ", topic));
}

absl::Status KafkaMockCluster::SetBrokerDown(int32_t broker_id) {
  return FromKafka(rd_kafka_mock_broker_set_down(cluster_, broker_id),
                   absl::StrCat("setting mock broker ", broker_id, " down"));
}

absl::Status KafkaMockCluster::SetBrokerUp(int32_t broker_id) {
  return FromKafka(rd_kafka_mock_broker_set_up(cluster_, broker_id),
                   absl::StrCat("setting mock broker ", broker_id, " up"));
}

void KafkaMockCluster::PushRequestErrors(
    int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors) {
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(),
                                          errors.data());
}

absl::Status KafkaMockCluster::SetPartitionLeader(const std::string& topic,
                                                  int32_t partition,
                                                  int32_t broker_id) {
  return FromKafka(rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(),
                                                      partition, broker_id),
                   absl::StrCat("moving the leader of ", topic, "/", partition,
                                " to broker ", broker_id));
}

}  // namespace kehu::infra
