#include "infra/kafka_config.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "infra/status_macros.h"

namespace kehu::infra {
namespace {

constexpr char kDefault[] = "kehu default";

std::string_view Trim(std::string_view s) {
  const char* blanks = " \t\r\f\v";
  const size_t first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}
constexpr char kRequired[] = "required by kehu";

// Why each required property matters, for the error a user sees.
std::string WhyRequired(const std::string& name) {
  if (name == "enable.idempotence" || name == "acks") {
    return "an append is acknowledged only once every in-sync replica has "
           "it, exactly once";
  }
  if (name == "partitioner") {
    return "a customer's events must land in the partition a Java client "
           "would pick";
  }
  if (name == "enable.auto.commit") {
    return "the offsets that count are stored with the state in RocksDB";
  }
  if (name == "isolation.level") {
    return "aborted transactions must never be folded";
  }
  if (name == "partition.assignment.strategy") {
    return "the projector implements the cooperative rebalance protocol";
  }
  if (name == "group.id") return "it is set with --group";
  if (name == "bootstrap.servers") return "it is set with --kafka";
  return "kehu depends on it";
}

// librdkafka's log lines, on stderr as librdkafka prints them, except its
// warning that a property is for the other kind of client: kehu gives the
// same config file to all its clients on purpose.
void LogToStderr(const rd_kafka_t* rk, int level, const char* facility,
                 const char* message) {
  if (std::strcmp(facility, "CONFWARN") == 0 &&
      (std::strstr(message, "is a consumer property") != nullptr ||
       std::strstr(message, "is a producer property") != nullptr)) {
    return;
  }
  std::fprintf(stderr, "%%%d|%s|%s| %s\n", level, facility, rd_kafka_name(rk),
               message);
}

}  // namespace

absl::StatusOr<KafkaProperties> ParseKafkaProperties(
    std::string_view text, const std::string& origin) {
  KafkaProperties properties;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view()
                                         : text.substr(end + 1);
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = absl::StrCat(origin, ":", line_number);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": expected name=value, got \"", std::string(line), "\""));
    }
    KafkaProperty property;
    property.name = std::string(Trim(line.substr(0, eq)));
    property.value = std::string(Trim(line.substr(eq + 1)));
    property.origin = where;
    if (property.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a property needs a name before '='"));
    }
    properties.push_back(std::move(property));
  }
  return properties;
}

absl::StatusOr<KafkaProperties> LoadKafkaProperties(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("cannot read Kafka config file ", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::UnavailableError(
        absl::StrCat("error reading Kafka config file ", path));
  }
  return ParseKafkaProperties(text.str(), path);
}

KafkaProperties KafkaDefaultProperties(KafkaRole role) {
  KafkaProperties p = {{"client.id", "kehu", kDefault}};
  switch (role) {
    case KafkaRole::kProducer:
      p.push_back({"compression.type", "lz4", kDefault});
      p.push_back({"linger.ms", "5", kDefault});
      // The event topic is the system of record: it is created on purpose,
      // with its partition count and retention (`kehu topics create`), never
      // by the first append with the broker's defaults.
      p.push_back({"allow.auto.create.topics", "false", kDefault});
      break;
    case KafkaRole::kReader:
      p.push_back({"enable.partition.eof", "false", kDefault});
      // Positions are always given explicitly; a position outside the log
      // is reported, not silently moved.
      p.push_back({"auto.offset.reset", "error", kDefault});
      p.push_back({"fetch.wait.max.ms", "100", kDefault});
      break;
    case KafkaRole::kGroupConsumer:
      p.push_back({"auto.offset.reset", "earliest", kDefault});
      p.push_back({"enable.auto.offset.store", "false", kDefault});
      p.push_back({"enable.partition.eof", "false", kDefault});
      p.push_back({"fetch.wait.max.ms", "100", kDefault});
      break;
    case KafkaRole::kAdmin:
      break;
  }
  return p;
}

KafkaProperties KafkaRequiredProperties(KafkaRole role,
                                        const std::string& group) {
  switch (role) {
    case KafkaRole::kProducer:
      return {{"enable.idempotence", "true", kRequired},
              {"acks", "all", kRequired},
              {"partitioner", "murmur2_random", kRequired}};
    case KafkaRole::kReader:
      // librdkafka assigns partitions through a group object, so a reader
      // needs a group.id; it never joins the group nor commits to it.
      return {{"group.id", "kehu-log-reader", kRequired},
              {"enable.auto.commit", "false", kRequired},
              {"isolation.level", "read_committed", kRequired}};
    case KafkaRole::kGroupConsumer:
      return {
          {"group.id", group, kRequired},
          {"enable.auto.commit", "false", kRequired},
          {"isolation.level", "read_committed", kRequired},
          {"partition.assignment.strategy", "cooperative-sticky", kRequired}};
    case KafkaRole::kAdmin:
      return {};
  }
  return {};
}

absl::Status SetKafkaProperty(rd_kafka_conf_t* conf,
                              const KafkaProperty& property) {
  char errstr[512] = "";
  if (rd_kafka_conf_set(conf, property.name.c_str(), property.value.c_str(),
                        errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat(property.origin,
                                                   ": property ", property.name,
                                                   ": ", std::string(errstr)));
  }
  return absl::OkStatus();
}

std::string GetKafkaProperty(const rd_kafka_conf_t* conf,
                             const std::string& name) {
  size_t size = 0;
  if (rd_kafka_conf_get(conf, name.c_str(), nullptr, &size) !=
          RD_KAFKA_CONF_OK ||
      size == 0) {
    return "";
  }
  std::string value(size, '\0');
  if (rd_kafka_conf_get(conf, name.c_str(), value.data(), &size) !=
      RD_KAFKA_CONF_OK) {
    return "";
  }
  value.resize(size > 0 ? size - 1 : 0);  // size counts the trailing NUL.
  return value;
}

absl::StatusOr<KafkaConfPtr> MakeKafkaConf(KafkaRole role,
                                           const std::string& brokers,
                                           const KafkaProperties& user,
                                           const std::string& group) {
  KafkaConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), LogToStderr);
  for (const KafkaProperty& p : KafkaDefaultProperties(role)) {
    KEHU_RETURN_IF_ERROR(SetKafkaProperty(conf.get(), p));
  }
  KafkaProperties pinned = KafkaRequiredProperties(role, group);
  if (!brokers.empty()) {
    pinned.push_back({"bootstrap.servers", brokers, "--kafka"});
  }
  for (const KafkaProperty& p : pinned) {
    KEHU_RETURN_IF_ERROR(SetKafkaProperty(conf.get(), p));
  }
  // Compare the pinned values as librdkafka stores them after each user
  // property, so that an alias (request.required.acks for acks) or a
  // property that implies another is caught too.
  std::vector<std::string> pinned_values;
  for (const KafkaProperty& p : pinned) {
    pinned_values.push_back(GetKafkaProperty(conf.get(), p.name));
  }
  for (const KafkaProperty& p : user) {
    KEHU_RETURN_IF_ERROR(SetKafkaProperty(conf.get(), p));
    for (size_t i = 0; i < pinned.size(); ++i) {
      if (GetKafkaProperty(conf.get(), pinned[i].name) == pinned_values[i]) {
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat(
          p.origin, ": property ", p.name, " would set ", pinned[i].name,
          " to something other than ", pinned[i].value, ", which kehu ",
          "requires (", WhyRequired(pinned[i].name), "); remove it"));
    }
  }
  return conf;
}

}  // namespace kehu::infra
