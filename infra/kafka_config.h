// Configuration of kehu's librdkafka clients: kehu's defaults, plus any
// librdkafka property from a config file, passed through unchanged, so that
// a cluster with TLS or SASL (security.protocol, sasl.*, ssl.*) or tuned
// timeouts works without code changes.
//
// The config file holds one `name=value` per line, the names and values
// those of librdkafka's CONFIGURATION.md. Blank lines and lines whose first
// non-blank character is `#` are ignored; whitespace around the name and
// the value is trimmed; everything after the first `=` is the value, `#`
// included (passwords may contain it). The same file configures every
// client kehu makes (producer, consumers, admin); a property of one kind of
// client is ignored by the others, with a librdkafka warning.
//
// A few properties carry kehu's guarantees and cannot be changed by the
// file: see KafkaRequiredProperties(). Setting one to another value is an
// error that names it, rather than a silently weaker system.
#ifndef KEHU_INFRA_KAFKA_CONFIG_H_
#define KEHU_INFRA_KAFKA_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/kafka_handles.h"

namespace kehu::infra {

// One librdkafka property and where it came from ("kehu default",
// "/etc/kehu/kafka.properties:3", ...), for error messages.
struct KafkaProperty {
  std::string name;
  std::string value;
  std::string origin;
};
using KafkaProperties = std::vector<KafkaProperty>;

// The kinds of clients kehu makes; each has its own defaults.
enum class KafkaRole {
  // Appends events: idempotent, acks=all, murmur2_random, lz4, small linger.
  kProducer,
  // Reads partitions it assigns itself (KafkaLog::Read); never joins a group.
  kReader,
  // The projector's consumer-group member: cooperative-sticky, manual
  // offsets, read_committed, earliest.
  kGroupConsumer,
  // Creates and describes topics.
  kAdmin,
};

// Parses a config file's text (format above). `origin` names the file in
// each property's origin ("FILE:LINE") and in errors. Fails with
// INVALID_ARGUMENT naming the line when it has no `=` or an empty name.
absl::StatusOr<KafkaProperties> ParseKafkaProperties(std::string_view text,
                                                     const std::string& origin);

// Reads and parses the config file at `path`; NOT_FOUND when it cannot be
// read.
absl::StatusOr<KafkaProperties> LoadKafkaProperties(const std::string& path);

// kehu's defaults for `role`; the config file may override all of them
// except the required ones.
KafkaProperties KafkaDefaultProperties(KafkaRole role);

// The properties `role` needs for kehu's guarantees, e.g. for kProducer
// enable.idempotence=true, acks=all and partitioner=murmur2_random (a
// customer's events must land in the partition any Java client picks).
// `group` is the consumer group of kGroupConsumer.
KafkaProperties KafkaRequiredProperties(KafkaRole role,
                                        const std::string& group = "");

// Builds a client configuration: the defaults of `role`, bootstrap.servers
// = `brokers` (when not empty), the required properties, then every
// property of `user` in order (a later one wins). Fails with
// INVALID_ARGUMENT naming the property and its origin when librdkafka
// refuses it (unknown name, bad value) or when it would change a required
// property (or bootstrap.servers, which `brokers` sets), aliases included.
// `group` is the consumer group of kGroupConsumer, ignored otherwise.
absl::StatusOr<KafkaConfPtr> MakeKafkaConf(KafkaRole role,
                                           const std::string& brokers,
                                           const KafkaProperties& user,
                                           const std::string& group = "");

// Sets one property on `conf`; INVALID_ARGUMENT naming it and its origin
// when librdkafka refuses it.
absl::Status SetKafkaProperty(rd_kafka_conf_t* conf,
                              const KafkaProperty& property);

// The value of `name` in `conf`, "" when unset or unknown.
std::string GetKafkaProperty(const rd_kafka_conf_t* conf,
                             const std::string& name);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_KAFKA_CONFIG_H_
