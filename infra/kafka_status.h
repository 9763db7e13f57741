// Translation of librdkafka errors into absl::Status, in one place.
#ifndef KEHU_INFRA_KAFKA_STATUS_H_
#define KEHU_INFRA_KAFKA_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "librdkafka/rdkafka.h"

namespace kehu::infra {

// Maps a librdkafka error code to the absl code a caller can act on: a
// broker, leader or coordinator that cannot be reached becomes UNAVAILABLE
// (retry later), a timeout DEADLINE_EXCEEDED, an unknown topic or partition
// NOT_FOUND, a refused credential UNAUTHENTICATED or PERMISSION_DENIED, a
// bad configuration or oversized message INVALID_ARGUMENT, a full local
// queue RESOURCE_EXHAUSTED, an offset outside the log OUT_OF_RANGE, a
// handle being destroyed CANCELLED, a fatal producer error ABORTED. The
// message says what kehu was doing (`context`), librdkafka's description
// and the error's name, e.g. "appending to kehu.events: Broker: Not enough
// in-sync replicas (NOT_ENOUGH_REPLICAS)". NO_ERROR is OK.
absl::Status FromKafka(rd_kafka_resp_err_t err, std::string_view context);

// The same for an rd_kafka_error_t (admin and consumer APIs); `error` may be
// nullptr (OK). Does not take ownership.
absl::Status FromKafkaError(const rd_kafka_error_t* error,
                            std::string_view context);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_KAFKA_STATUS_H_
