#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "infra/app/commands.h"
#include "infra/kafka_admin.h"

namespace kehu::app {
namespace {

absl::StatusOr<std::unique_ptr<infra::KafkaAdmin>> Admin(
    const TopicsOptions& options) {
  infra::KafkaProperties properties;
  if (!options.kafka_config_file.empty()) {
    auto loaded = infra::LoadKafkaProperties(options.kafka_config_file);
    if (!loaded.ok()) return loaded.status();
    properties = std::move(*loaded);
  }
  return infra::KafkaAdmin::Create(options.kafka_brokers, properties);
}

std::string Join(const std::vector<int32_t>& ids) {
  return absl::StrJoin(ids, ",");
}

}  // namespace

int RunTopicsCreate(const TopicsOptions& options) {
  auto admin = Admin(options);
  if (!admin.ok()) {
    std::cerr << "kehu topics create: " << admin.status().message() << "\n";
    return kExitError;
  }
  std::vector<infra::TopicSpec> topics(2);
  topics[0].name = options.topic;
  topics[1].name = options.topic + infra::kDeadLetterTopicSuffix;
  for (auto& topic : topics) {
    topic.partitions = options.partitions;
    topic.replication_factor = options.replication_factor;
    topic.configs["retention.ms"] = absl::StrCat(options.retention_ms);
  }
  const std::vector<absl::Status> results =
      (*admin)->CreateTopics(topics, options.timeout);
  int exit_code = kExitOk;
  for (size_t i = 0; i < topics.size(); ++i) {
    const char* role = i == 0 ? "event topic" : "dead-letter topic";
    if (results[i].ok()) {
      std::cerr << "kehu topics create: created " << role << " "
                << topics[i].name << " (" << topics[i].partitions
                << " partitions, replication factor "
                << topics[i].replication_factor
                << ", retention.ms=" << options.retention_ms << ")\n";
    } else if (absl::IsAlreadyExists(results[i])) {
      std::cerr << "kehu topics create: " << role << " " << topics[i].name
                << " exists already; left as it is\n";
    } else {
      std::cerr << "kehu topics create: " << results[i].message() << "\n";
      exit_code = kExitError;
    }
  }
  return exit_code;
}

int RunTopicsDescribe(const TopicsOptions& options) {
  auto admin = Admin(options);
  if (!admin.ok()) {
    std::cerr << "kehu topics describe: " << admin.status().message() << "\n";
    return kExitError;
  }
  int exit_code = kExitOk;
  for (const std::string& name :
       {options.topic, options.topic + infra::kDeadLetterTopicSuffix}) {
    auto topic = (*admin)->DescribeTopic(name, options.timeout);
    if (!topic.ok()) {
      std::cerr << "kehu topics describe: " << topic.status().message() << "\n";
      exit_code = kExitError;
      continue;
    }
    std::cout << "topic " << topic->name << ": " << topic->partitions.size()
              << " partitions\n";
    for (const auto& p : topic->partitions) {
      std::cout << "  partition " << p.id << "  leader " << p.leader
                << "  replicas " << Join(p.replicas) << "  in-sync "
                << Join(p.in_sync_replicas) << "\n";
    }
    if (!topic->configs_status.ok()) {
      std::cout << "  configs: unavailable (" << topic->configs_status.message()
                << ")\n";
    }
    for (const auto& [config, value] : topic->configs) {
      std::cout << "  " << config << "=" << value << "\n";
    }
  }
  return exit_code;
}

}  // namespace kehu::app
