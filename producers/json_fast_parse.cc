#include "producers/json_fast_parse.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"

namespace kehu::producers {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::OneofDescriptor;
using google::protobuf::Reflection;

// Deeper nesting is left to protobuf's parser (and its own limit).
constexpr int kMaxDepth = 64;

// google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z up to
// 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// A message type's fields by JSON name and by proto name, the two names
// protobuf's parser accepts.
using FieldsByName =
    absl::flat_hash_map<std::string, const FieldDescriptor*>;

const FieldDescriptor* FindField(const Descriptor* type,
                                 absl::string_view name) {
  thread_local absl::flat_hash_map<const Descriptor*, FieldsByName> tables;
  auto [it, inserted] = tables.try_emplace(type);
  if (inserted) {
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      it->second.emplace(field->json_name(), field);
      it->second.emplace(field->name(), field);
    }
  }
  auto found = it->second.find(name);
  return found == it->second.end() ? nullptr : found->second;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    uint32_t code;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if ((extra == 2 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
        (extra == 3 && (code < 0x10000 || code > 0x10FFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

void AppendUtf8(uint32_t code, std::string* out) {
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  bool ParseDocument(Message* message) {
    SkipSpace();
    if (!ParseObject(message, 0)) return false;
    SkipSpace();
    return pos_ == text_.size();
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  bool Consume(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  bool ConsumeWord(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos_;
    }
  }

  // An object's members into `message`.
  bool ParseObject(Message* message, int depth) {
    if (depth > kMaxDepth || !Consume('{')) return false;
    const Descriptor* type = message->GetDescriptor();
    const Reflection* reflection = message->GetReflection();
    absl::InlinedVector<bool, 32> seen(type->field_count(), false);
    SkipSpace();
    if (Consume('}')) return true;
    std::string name;
    while (true) {
      SkipSpace();
      name.clear();
      if (!Consume('"') || !ParseStringBody(&name)) return false;
      SkipSpace();
      if (!Consume(':')) return false;
      const FieldDescriptor* field = FindField(type, name);
      // A field given twice (also under both its names) and a second
      // member of a oneof are errors protobuf's parser explains.
      if (field == nullptr || seen[field->index()]) return false;
      seen[field->index()] = true;
      const OneofDescriptor* oneof = field->real_containing_oneof();
      if (oneof != nullptr && reflection->HasOneof(*message, oneof)) {
        return false;
      }
      SkipSpace();
      if (field->is_map()) return false;
      if (field->is_repeated()) {
        if (!ParseArray(message, field, depth)) return false;
      } else if (!ParseValue(message, field, /*repeated=*/false, depth)) {
        return false;
      }
      SkipSpace();
      if (Consume(',')) continue;
      return Consume('}');
    }
  }

  bool ParseArray(Message* message, const FieldDescriptor* field, int depth) {
    if (!Consume('[')) return false;
    SkipSpace();
    if (Consume(']')) return true;
    while (true) {
      SkipSpace();
      if (!ParseValue(message, field, /*repeated=*/true, depth)) return false;
      SkipSpace();
      if (Consume(',')) continue;
      return Consume(']');
    }
  }

  // One value of `field`: set, or added when `repeated`.
  bool ParseValue(Message* message, const FieldDescriptor* field,
                  bool repeated, int depth) {
    const Reflection* reflection = message->GetReflection();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        if (field->type() == FieldDescriptor::TYPE_BYTES) return false;
        std::string value;
        if (!Consume('"') || !ParseStringBody(&value)) return false;
        if (repeated) {
          reflection->AddString(message, field, std::move(value));
        } else {
          reflection->SetString(message, field, std::move(value));
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_INT32: {
        int64_t value;
        if (!ParseInteger(&value) ||
            value < std::numeric_limits<int32_t>::min() ||
            value > std::numeric_limits<int32_t>::max()) {
          return false;
        }
        if (repeated) {
          reflection->AddInt32(message, field, static_cast<int32_t>(value));
        } else {
          reflection->SetInt32(message, field, static_cast<int32_t>(value));
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t value;
        if (!ParseInteger(&value)) return false;
        if (repeated) {
          reflection->AddInt64(message, field, value);
        } else {
          reflection->SetInt64(message, field, value);
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool value;
        if (ConsumeWord("true")) {
          value = true;
        } else if (ConsumeWord("false")) {
          value = false;
        } else {
          return false;
        }
        if (repeated) {
          reflection->AddBool(message, field, value);
        } else {
          reflection->SetBool(message, field, value);
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        std::string name;
        if (!Consume('"') || !ParseStringBody(&name)) return false;
        const EnumValueDescriptor* value =
            field->enum_type()->FindValueByName(name);
        if (value == nullptr) return false;
        if (repeated) {
          reflection->AddEnum(message, field, value);
        } else {
          reflection->SetEnum(message, field, value);
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        const Descriptor* type = field->message_type();
        const bool timestamp = type->full_name() == "google.protobuf.Timestamp";
        if (!timestamp && type->file()->package() == "google.protobuf") {
          return false;  // other well-known types have JSON forms of their own
        }
        Message* value = repeated ? reflection->AddMessage(message, field)
                                  : reflection->MutableMessage(message, field);
        return timestamp ? ParseTimestamp(value) : ParseObject(value, depth + 1);
      }
      default:
        return false;  // floating point, unsigned: protobuf's parser
    }
  }

  // The rest of a string after its opening quote, unescaped into `out`.
  bool ParseStringBody(std::string* out) {
    bool non_ascii = false;
    while (pos_ < text_.size()) {
      const size_t start = pos_;
      while (pos_ < text_.size()) {
        const unsigned char c = static_cast<unsigned char>(text_[pos_]);
        if (c == '"' || c == '\\' || c < 0x20) break;
        non_ascii |= c >= 0x80;
        ++pos_;
      }
      out->append(text_.data() + start, pos_ - start);
      if (pos_ >= text_.size()) return false;
      const char c = text_[pos_++];
      if (c == '"') return !non_ascii || IsValidUtf8(*out);
      if (c != '\\') return false;  // a raw control character
      if (pos_ >= text_.size()) return false;
      const char escape = text_[pos_++];
      switch (escape) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t code;
          if (!ParseHex4(&code)) return false;
          if (code >= 0xD800 && code <= 0xDBFF) {
            uint32_t low;
            if (!ConsumeWord("\\u") || !ParseHex4(&low) || low < 0xDC00 ||
                low > 0xDFFF) {
              return false;
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if ((code >= 0xDC00 && code <= 0xDFFF) || code == 0) {
            return false;
          }
          AppendUtf8(code, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool ParseHex4(uint32_t* code) {
    if (pos_ + 4 > text_.size()) return false;
    uint32_t value = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text_[pos_ + k];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return false;
      }
      value = value * 16 + digit;
    }
    pos_ += 4;
    *code = value;
    return true;
  }

  // An integer written as a JSON number or as a quoted one: an optional
  // minus and digits without leading zeros; no fraction, no exponent.
  bool ParseInteger(int64_t* value) {
    const bool quoted = Consume('"');
    const size_t start = pos_;
    Consume('-');
    const size_t digits = pos_;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    const size_t n = pos_ - digits;
    if (n == 0 || (n > 1 && text_[digits] == '0')) return false;
    if (n == 1 && text_[digits] == '0' && digits != start) return false;  // -0
    if (!absl::SimpleAtoi(text_.substr(start, pos_ - start), value)) {
      return false;  // out of range
    }
    if (quoted) return Consume('"');
    const char next = Peek();
    return next != '.' && next != 'e' && next != 'E';
  }

  // Reads `count` digits as a number.
  bool Digits(absl::string_view s, size_t at, size_t count, int* value) {
    if (at + count > s.size()) return false;
    int v = 0;
    for (size_t k = 0; k < count; ++k) {
      if (!IsDigit(s[at + k])) return false;
      v = v * 10 + (s[at + k] - '0');
    }
    *value = v;
    return true;
  }

  // google.protobuf.Timestamp: "YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|+HH:MM|-HH:MM)".
  bool ParseTimestamp(Message* timestamp) {
    std::string text;
    if (!Consume('"') || !ParseStringBody(&text)) return false;
    int year, month, day, hour, minute, second;
    if (!Digits(text, 0, 4, &year) || text.size() < 20 || text[4] != '-' ||
        !Digits(text, 5, 2, &month) || text[7] != '-' ||
        !Digits(text, 8, 2, &day) || text[10] != 'T' ||
        !Digits(text, 11, 2, &hour) || text[13] != ':' ||
        !Digits(text, 14, 2, &minute) || text[16] != ':' ||
        !Digits(text, 17, 2, &second)) {
      return false;
    }
    size_t at = 19;
    int64_t nanos = 0;
    if (text[at] == '.') {
      ++at;
      int fraction_digits = 0;
      while (at < text.size() && IsDigit(text[at]) && fraction_digits < 10) {
        nanos = nanos * 10 + (text[at] - '0');
        ++at;
        ++fraction_digits;
      }
      if (fraction_digits == 0 || fraction_digits > 9) return false;
      for (int k = fraction_digits; k < 9; ++k) nanos *= 10;
    }
    int64_t offset_seconds = 0;
    if (at + 1 == text.size() && text[at] == 'Z') {
      ++at;
    } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-')) {
      int offset_hours, offset_minutes;
      if (!Digits(text, at + 1, 2, &offset_hours) || text[at + 3] != ':' ||
          !Digits(text, at + 4, 2, &offset_minutes) || offset_hours > 23 ||
          offset_minutes > 59) {
        return false;
      }
      offset_seconds = (offset_hours * 3600 + offset_minutes * 60) *
                       (text[at] == '+' ? 1 : -1);
      at += 6;
    } else {
      return false;
    }
    if (year < 1 || hour > 23 || minute > 59 || second > 59) return false;
    const absl::CivilSecond civil(year, month, day, hour, minute, second);
    // A date that does not exist (month 13, 30 February) normalizes to
    // another one.
    if (civil.year() != year || civil.month() != month || civil.day() != day) {
      return false;
    }
    const int64_t seconds =
        absl::ToUnixSeconds(absl::FromCivil(civil, absl::UTCTimeZone())) -
        offset_seconds;
    if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds) {
      return false;
    }
    const Descriptor* type = timestamp->GetDescriptor();
    const Reflection* reflection = timestamp->GetReflection();
    reflection->SetInt64(timestamp, type->FindFieldByName("seconds"), seconds);
    reflection->SetInt32(timestamp, type->FindFieldByName("nanos"),
                         static_cast<int32_t>(nanos));
    return true;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

bool ParseJsonFast(std::string_view json, Message* message) {
  message->Clear();
  return Parser(absl::string_view(json.data(), json.size()))
      .ParseDocument(message);
}

}  // namespace kehu::producers
