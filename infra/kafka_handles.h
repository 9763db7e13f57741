// Owning smart pointers for librdkafka's C handles, so that every handle is
// wrapped the moment librdkafka hands it out and released on every path.
//
//   KafkaConfPtr conf(rd_kafka_conf_new());
//   KafkaHandle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), ...));
//
// rd_kafka_new() takes ownership of the conf only when it succeeds: release
// the KafkaConfPtr after checking the result, not before (see kafka_config.h,
// which does this).
//
// Destruction order matters for handles with callbacks: librdkafka calls a
// callback's opaque object until rd_kafka_destroy() returns, so the object
// must be declared before (destroyed after) the KafkaHandle that uses it.
#ifndef KEHU_INFRA_KAFKA_HANDLES_H_
#define KEHU_INFRA_KAFKA_HANDLES_H_

#include <memory>

#include "librdkafka/rdkafka.h"

namespace kehu::infra {

namespace kafka_internal {
template <typename T, void (*Destroy)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p != nullptr) Destroy(p);
  }
};
}  // namespace kafka_internal

// rd_kafka_t: a producer, consumer or admin client. Destroying a consumer
// that is still a group member leaves the group cleanly first (librdkafka's
// rd_kafka_destroy() closes it); a crash-like exit releases the handle into
// rd_kafka_destroy_flags(..., RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE).
using KafkaHandle =
    std::unique_ptr<rd_kafka_t,
                    kafka_internal::Deleter<rd_kafka_t, rd_kafka_destroy>>;
using KafkaConfPtr = std::unique_ptr<
    rd_kafka_conf_t,
    kafka_internal::Deleter<rd_kafka_conf_t, rd_kafka_conf_destroy>>;
using KafkaTopicPtr = std::unique_ptr<
    rd_kafka_topic_t,
    kafka_internal::Deleter<rd_kafka_topic_t, rd_kafka_topic_destroy>>;
using KafkaQueuePtr = std::unique_ptr<
    rd_kafka_queue_t,
    kafka_internal::Deleter<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using KafkaMessagePtr = std::unique_ptr<
    rd_kafka_message_t,
    kafka_internal::Deleter<rd_kafka_message_t, rd_kafka_message_destroy>>;
using KafkaEventPtr = std::unique_ptr<
    rd_kafka_event_t,
    kafka_internal::Deleter<rd_kafka_event_t, rd_kafka_event_destroy>>;
using KafkaErrorPtr = std::unique_ptr<
    rd_kafka_error_t,
    kafka_internal::Deleter<rd_kafka_error_t, rd_kafka_error_destroy>>;
using KafkaPartitionListPtr = std::unique_ptr<
    rd_kafka_topic_partition_list_t,
    kafka_internal::Deleter<rd_kafka_topic_partition_list_t,
                            rd_kafka_topic_partition_list_destroy>>;
using KafkaAdminOptionsPtr =
    std::unique_ptr<rd_kafka_AdminOptions_t,
                    kafka_internal::Deleter<rd_kafka_AdminOptions_t,
                                            rd_kafka_AdminOptions_destroy>>;
using KafkaNewTopicPtr = std::unique_ptr<
    rd_kafka_NewTopic_t,
    kafka_internal::Deleter<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>>;
using KafkaConfigResourcePtr =
    std::unique_ptr<rd_kafka_ConfigResource_t,
                    kafka_internal::Deleter<rd_kafka_ConfigResource_t,
                                            rd_kafka_ConfigResource_destroy>>;

namespace kafka_internal {
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const {
    if (m != nullptr) rd_kafka_metadata_destroy(m);
  }
};
}  // namespace kafka_internal
using KafkaMetadataPtr =
    std::unique_ptr<const rd_kafka_metadata_t, kafka_internal::MetadataDeleter>;

}  // namespace kehu::infra

#endif  // KEHU_INFRA_KAFKA_HANDLES_H_
