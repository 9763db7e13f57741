// The rules an event must satisfy to be folded. The ingest service rejects
// events that break them (naming the field); the projector dead-letters
// such events when they arrive through another path (e.g. any Kafka client).
#ifndef KEHU_INFRA_EVENT_VALIDATION_H_
#define KEHU_INFRA_EVENT_VALIDATION_H_

#include <optional>
#include <string>

#include "kehu/events/v1/events.pb.h"

namespace kehu::infra {

// Longest customer_id / event_id accepted, in bytes.
inline constexpr size_t kMaxIdBytes = 128;

struct InvalidField {
  // Path of the offending field, e.g. "order_placed.lines[1].quantity".
  std::string field;
  // The rule it broke, e.g. "must be positive, got -2".
  std::string reason;
};

// Checks `event` against the schema's rules. Returns the first broken rule,
// or nullopt when the event is valid. An event whose payload this version
// does not know (set by a newer producer) is valid: see IsUnknownPayload().
std::optional<InvalidField> ValidateEvent(const events::v1::Event& event);

// True when the event carries a payload this version of kehu does not know:
// no known payload field is set but the message has unknown fields.
bool IsUnknownPayload(const events::v1::Event& event);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_EVENT_VALIDATION_H_
