#include "infra/kafka_admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "infra/kafka_status.h"
#include "infra/status_macros.h"

namespace kehu::infra {
namespace {

int TimeoutMs(absl::Duration timeout) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(timeout), 1, 1 << 30));
}

// Waits for the result of an admin request on `queue`.
absl::StatusOr<KafkaEventPtr> AwaitResult(rd_kafka_queue_t* queue,
                                          rd_kafka_event_type_t type,
                                          absl::Duration timeout,
                                          const std::string& what) {
  // The admin request itself times out (request_timeout below); the extra
  // second lets its timeout result arrive.
  KafkaEventPtr event(
      rd_kafka_queue_poll(queue, TimeoutMs(timeout + absl::Seconds(1))));
  if (event == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat(
        what, ": no answer within ", absl::FormatDuration(timeout)));
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* detail = rd_kafka_event_error_string(event.get());
    return FromKafka(
        rd_kafka_event_error(event.get()),
        absl::StrCat(what,
                     detail != nullptr ? absl::StrCat(" (", detail, ")") : ""));
  }
  if (rd_kafka_event_type(event.get()) != type) {
    return absl::InternalError(absl::StrCat(what, ": unexpected event ",
                                            rd_kafka_event_name(event.get())));
  }
  return event;
}

absl::StatusOr<KafkaAdminOptionsPtr> AdminOptions(rd_kafka_t* rk,
                                                  rd_kafka_admin_op_t op,
                                                  absl::Duration timeout) {
  KafkaAdminOptionsPtr options(rd_kafka_AdminOptions_new(rk, op));
  char errstr[512] = "";
  if (rd_kafka_AdminOptions_set_request_timeout(
          options.get(), TimeoutMs(timeout), errstr, sizeof(errstr)) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(errstr);
  }
  return options;
}

}  // namespace

absl::StatusOr<int32_t> FetchPartitionCount(rd_kafka_t* rk,
                                            const std::string& topic,
                                            absl::Duration timeout) {
  KafkaTopicPtr handle(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  if (handle == nullptr) {
    return FromKafka(rd_kafka_last_error(),
                     absl::StrCat("naming topic ", topic));
  }
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, 0, handle.get(), &raw, TimeoutMs(timeout));
  KafkaMetadataPtr metadata(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    absl::Status s = FromKafka(
        err, absl::StrCat("asking the Kafka cluster about topic ", topic));
    if (absl::IsDeadlineExceeded(s)) {
      return absl::UnavailableError(
          absl::StrCat(s.message(), " (are the brokers reachable?)"));
    }
    return s;
  }
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = metadata->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        (t.err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt == 0)) {
      return absl::NotFoundError(absl::StrCat(
          "Kafka topic ", topic,
          " does not exist; create it with `kehu topics create --topic ", topic,
          "`"));
    }
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return FromKafka(t.err, absl::StrCat("metadata of topic ", topic));
    }
    return t.partition_cnt;
  }
  return absl::NotFoundError(
      absl::StrCat("Kafka topic ", topic, " is not in the cluster's metadata"));
}

absl::StatusOr<std::unique_ptr<KafkaAdmin>> KafkaAdmin::Create(
    const std::string& brokers, const KafkaProperties& properties) {
  KEHU_ASSIGN_OR_RETURN(KafkaConfPtr conf,
                        MakeKafkaConf(KafkaRole::kAdmin, brokers, properties));
  char errstr[512] = "";
  KafkaHandle rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr)));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create a Kafka admin client: ", errstr));
  }
  conf.release();  // Owned by rk now.
  return std::unique_ptr<KafkaAdmin>(new KafkaAdmin(std::move(rk)));
}

std::vector<absl::Status> KafkaAdmin::CreateTopics(
    const std::vector<TopicSpec>& topics, absl::Duration timeout) {
  std::vector<absl::Status> results(topics.size());
  auto fail_all = [&](const absl::Status& s) {
    for (auto& r : results) r = s;
    return results;
  };
  std::vector<KafkaNewTopicPtr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const TopicSpec& spec : topics) {
    char errstr[512] = "";
    KafkaNewTopicPtr topic(
        rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                              spec.replication_factor, errstr, sizeof(errstr)));
    if (topic == nullptr) {
      return fail_all(absl::InvalidArgumentError(
          absl::StrCat("topic ", spec.name, ": ", errstr)));
    }
    for (const auto& [name, value] : spec.configs) {
      absl::Status s =
          FromKafka(rd_kafka_NewTopic_set_config(topic.get(), name.c_str(),
                                                 value.c_str()),
                    absl::StrCat("topic ", spec.name, " config ", name));
      if (!s.ok()) return fail_all(s);
    }
    raw.push_back(topic.get());
    owned.push_back(std::move(topic));
  }
  auto options =
      AdminOptions(rk_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  if (!options.ok()) return fail_all(options.status());
  KafkaQueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_CreateTopics(rk_.get(), raw.data(), raw.size(), options->get(),
                        queue.get());
  auto event = AwaitResult(queue.get(), RD_KAFKA_EVENT_CREATETOPICS_RESULT,
                           timeout, "creating Kafka topics");
  if (!event.ok()) return fail_all(event.status());
  size_t count = 0;
  const rd_kafka_topic_result_t** created = rd_kafka_CreateTopics_result_topics(
      rd_kafka_event_CreateTopics_result(event->get()), &count);
  for (size_t i = 0; i < count; ++i) {
    const std::string name = rd_kafka_topic_result_name(created[i]);
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(created[i]);
    const char* detail = rd_kafka_topic_result_error_string(created[i]);
    for (size_t t = 0; t < topics.size(); ++t) {
      if (topics[t].name != name) continue;
      results[t] =
          FromKafka(err, absl::StrCat("creating topic ", name,
                                      detail != nullptr && *detail != '\0'
                                          ? absl::StrCat(" (", detail, ")")
                                          : ""));
    }
  }
  return results;
}

absl::StatusOr<int> KafkaAdmin::BrokerCount(absl::Duration timeout) {
  const rd_kafka_metadata_t* raw = nullptr;
  KEHU_RETURN_IF_ERROR(FromKafka(
      rd_kafka_metadata(rk_.get(), 0, nullptr, &raw, TimeoutMs(timeout)),
      "asking the Kafka cluster for its brokers"));
  KafkaMetadataPtr metadata(raw);
  return metadata->broker_cnt;
}

absl::StatusOr<TopicDescription> KafkaAdmin::DescribeTopic(
    const std::string& topic, absl::Duration timeout) {
  TopicDescription description;
  description.name = topic;
  KafkaTopicPtr handle(rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  KEHU_RETURN_IF_ERROR(FromKafka(
      rd_kafka_metadata(rk_.get(), 0, handle.get(), &raw, TimeoutMs(timeout)),
      absl::StrCat("asking the Kafka cluster about topic ", topic)));
  KafkaMetadataPtr metadata(raw);
  KEHU_RETURN_IF_ERROR(FetchPartitionCount(rk_.get(), topic, timeout).status());
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = metadata->topics[i];
    if (topic != t.topic) continue;
    for (int p = 0; p < t.partition_cnt; ++p) {
      const rd_kafka_metadata_partition_t& mp = t.partitions[p];
      PartitionDescription partition;
      partition.id = mp.id;
      partition.leader = mp.leader;
      partition.replicas.assign(mp.replicas, mp.replicas + mp.replica_cnt);
      partition.in_sync_replicas.assign(mp.isrs, mp.isrs + mp.isr_cnt);
      description.partitions.push_back(std::move(partition));
    }
  }
  std::sort(description.partitions.begin(), description.partitions.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });

  // Configs: a separate request that not every cluster answers.
  auto options =
      AdminOptions(rk_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  if (!options.ok()) {
    description.configs_status = options.status();
    return description;
  }
  KafkaConfigResourcePtr resource(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  rd_kafka_ConfigResource_t* resources[] = {resource.get()};
  KafkaQueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DescribeConfigs(rk_.get(), resources, 1, options->get(),
                           queue.get());
  auto event =
      AwaitResult(queue.get(), RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, timeout,
                  absl::StrCat("describing the configs of topic ", topic));
  if (!event.ok()) {
    description.configs_status = event.status();
    return description;
  }
  size_t count = 0;
  const rd_kafka_ConfigResource_t** described =
      rd_kafka_DescribeConfigs_result_resources(
          rd_kafka_event_DescribeConfigs_result(event->get()), &count);
  for (size_t i = 0; i < count; ++i) {
    description.configs_status =
        FromKafka(rd_kafka_ConfigResource_error(described[i]),
                  absl::StrCat("describing the configs of topic ", topic));
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** configs =
        rd_kafka_ConfigResource_configs(described[i], &entries);
    for (size_t e = 0; e < entries; ++e) {
      if (rd_kafka_ConfigEntry_is_default(configs[e])) continue;
      const char* value = rd_kafka_ConfigEntry_value(configs[e]);
      description.configs[rd_kafka_ConfigEntry_name(configs[e])] =
          value != nullptr ? value : "";
    }
  }
  return description;
}

}  // namespace kehu::infra
