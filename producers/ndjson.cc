#include "producers/ndjson.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "producers/json_fast_parse.h"

namespace kehu::producers {
namespace {

using events::v1::Event;

bool IsBlank(const std::string& line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

// protobuf's parser reports a syntax error as three lines: the message, up
// to 40 characters of input around the spot, and a caret under it. One line
// reads better in a report: "<message> near '<input from the spot on>'".
std::string OneLineSyntaxError(const std::string& message) {
  const size_t first = message.find('\n');
  if (first == std::string::npos) return message;
  const size_t second = message.find('\n', first + 1);
  if (second == std::string::npos) return message.substr(0, first);
  const std::string head = message.substr(0, first);
  const std::string segment = message.substr(first + 1, second - first - 1);
  const std::string caret = message.substr(second + 1);
  if (caret.empty() || caret.back() != '^') return head;
  const size_t at = caret.size() - 1;
  if (at >= segment.size())
    return absl::StrCat(head, " at the end of the line");
  return absl::StrCat(head, " near '", segment.substr(at), "'");
}

// Rewrites protobuf's JSON errors into what an integrator needs to read:
//   "(order_placed.lines[0]) quantityy: Cannot find field."
//     -> unknown field "quantityy" in order_placed.lines[0]
//   "(customer_id): invalid value 5 for type TYPE_STRING"
//     -> customer_id: invalid value 5 for type TYPE_STRING
// Anything else is kept (on one line), so a new protobuf wording degrades
// to the raw text rather than to nothing.
std::string Explain(std::string message) {
  static constexpr char kUnknown[] = ": Cannot find field.";
  const std::string unknown = kUnknown;
  if (message.size() > unknown.size() &&
      message.compare(message.size() - unknown.size(), unknown.size(),
                      unknown) == 0) {
    std::string rest = message.substr(0, message.size() - unknown.size());
    std::string path;
    if (!rest.empty() && rest[0] == '(') {
      const size_t close = rest.find(") ");
      if (close != std::string::npos) {
        path = rest.substr(1, close - 1);
        rest = rest.substr(close + 2);
      }
    }
    std::string out = absl::StrCat("unknown field \"", rest, "\"");
    if (!path.empty()) absl::StrAppend(&out, " in ", path);
    return out;
  }
  if (message.rfind(": Root element must be a message", 0) == 0) {
    return "expected a JSON object";
  }
  if (!message.empty() && message[0] == '(') {
    const size_t close = message.find("): ");
    if (close != std::string::npos) {
      return absl::StrCat(message.substr(1, close - 1), ": ",
                          message.substr(close + 3));
    }
  }
  return OneLineSyntaxError(message);
}

}  // namespace

absl::StatusOr<std::string> ToNdjsonLine(const Event& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  std::string line;
  const auto status =
      google::protobuf::util::MessageToJsonString(event, &line, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event \"", event.event_id(),
        "\" cannot be written as JSON: ", status.message().ToString()));
  }
  line.push_back('\n');
  return line;
}

absl::StatusOr<Event> ParseNdjsonLine(const std::string& line) {
  Event event;
  if (ParseJsonFast(line, &event)) return event;
  // Everything the fast path leaves alone, errors included: protobuf's
  // parser decides, and says what is wrong.
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field is an error
  event.Clear();
  const auto status =
      google::protobuf::util::JsonStringToMessage(line, &event, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(Explain(status.message().ToString()));
  }
  return event;
}

NdjsonReader::NdjsonReader(std::istream* in) : in_(in) {}

absl::StatusOr<bool> NdjsonReader::Next(Event* event) {
  std::string line;
  while (!done_) {
    if (!std::getline(*in_, line)) {
      done_ = true;
      if (in_->bad()) {
        return absl::DataLossError(
            absl::StrCat("reading NDJSON failed after line ", line_number_));
      }
      break;
    }
    ++line_number_;
    if (line_number_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) {
      line.erase(0, 3);  // a UTF-8 byte-order mark some editors write
    }
    if (IsBlank(line)) continue;
    if (line.back() == '\r') line.pop_back();
    absl::StatusOr<Event> parsed = ParseNdjsonLine(line);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number_, ": ", std::string(parsed.status().message())));
    }
    *event = std::move(parsed).value();
    return true;
  }
  return false;
}

}  // namespace kehu::producers
