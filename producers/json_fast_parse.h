// ParseJsonFast: the fast path of ParseNdjsonLine (producers/ndjson.h).
//
// protobuf's JsonStringToMessage resolves the message's type description
// anew for every call and builds the message through several layers of
// converters: about 24 µs of CPU for one simulated event on this project's
// 2-core machine, 82 % of `kehu produce --data`'s time. ParseJsonFast reads the
// same text in one pass, driven by the message's descriptor, with field
// names looked up once per message type.
//
// It takes only the proto3 JSON that protobuf's own printer and ordinary
// clients write: objects, arrays, strings (all JSON escapes), integers (as
// numbers or quoted), booleans, enums by name, google.protobuf.Timestamp in
// RFC 3339 (1-9 fraction digits, Z or an offset). For anything else —
// valid JSON it does not cover (null, floating-point fields, bytes, maps,
// other well-known types, enums by number, exponents) as well as every
// error (unknown or repeated field names, two members of a oneof, bad
// enum names, impossible dates, invalid UTF-8, trailing text) — it returns
// false and the caller parses the line with protobuf's parser, which
// accepts it or explains exactly what is wrong. So whenever it returns
// true, the message is what JsonStringToMessage (unknown fields rejected)
// would give; tests/producers/json_fast_parse_test.cc compares the two.
//
// Concurrency: thread-safe (each thread keeps its own name tables).
#ifndef KEHU_PRODUCERS_JSON_FAST_PARSE_H_
#define KEHU_PRODUCERS_JSON_FAST_PARSE_H_

#include <string_view>

#include "google/protobuf/message.h"

namespace kehu::producers {

// Clears `message` and parses `json` into it. False: not parsed here (the
// message's contents are then unspecified); use protobuf's parser.
bool ParseJsonFast(std::string_view json, google::protobuf::Message* message);

}  // namespace kehu::producers

#endif  // KEHU_PRODUCERS_JSON_FAST_PARSE_H_
