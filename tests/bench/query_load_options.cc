#include "tests/bench/query_load_options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"

namespace kehu::bench {

const char* CallKindName(CallKind kind) {
  switch (kind) {
    case CallKind::kGetCustomer:
      return "get";
    case CallKind::kListCustomers:
      return "list";
    case CallKind::kSegmentSummary:
      return "summary";
  }
  return "?";
}

absl::StatusOr<CustomerIdFormat> CustomerIdFormat::Parse(
    const std::string& pattern) {
  CustomerIdFormat format;
  bool seen_conversion = false;
  std::string* literal = &format.prefix_;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      literal->push_back(pattern[i]);
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '%') {
      literal->push_back('%');
      ++i;
      continue;
    }
    if (seen_conversion) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", pattern, "\" has more than one conversion; use %% for a %"));
    }
    seen_conversion = true;
    size_t j = i + 1;
    if (j < pattern.size() && pattern[j] == '0') {
      format.zero_pad_ = true;
      ++j;
    }
    while (j < pattern.size() &&
           std::isdigit(static_cast<unsigned char>(pattern[j]))) {
      format.width_ = format.width_ * 10 + (pattern[j] - '0');
      if (format.width_ >= 20) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", pattern, "\": width must be below 20"));
      }
      ++j;
    }
    if (j >= pattern.size() ||
        (pattern[j] != 'd' && pattern[j] != 'i' && pattern[j] != 'u')) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", pattern,
                       "\": expected %d, %u or %i (with an optional 0 flag "
                       "and width), like C%06u"));
    }
    i = j;
    literal = &format.suffix_;
  }
  if (!seen_conversion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", pattern, "\" has no integer conversion (%d or %u), like C%06u"));
  }
  return format;
}

std::string CustomerIdFormat::Format(int64_t n) const {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  const int pad = width_ - static_cast<int>(digits.size()) - (n < 0 ? 1 : 0);
  std::string out = prefix_;
  if (pad > 0 && !zero_pad_) out.append(pad, ' ');
  if (n < 0) out.push_back('-');
  if (pad > 0 && zero_pad_) out.append(pad, '0');
  out += digits;
  out += suffix_;
  return out;
}

absl::Status CheckLoopbackTarget(const std::string& server) {
  const absl::Status refused = absl::InvalidArgumentError(absl::StrCat(
      "\"", server,
      "\": only loopback targets are allowed: HOST:PORT with HOST in "
      "127.0.0.0/8, [::1] or localhost"));
  const size_t colon = server.rfind(':');
  if (colon == std::string::npos) return refused;
  const std::string host = server.substr(0, colon);
  const std::string port_text = server.substr(colon + 1);
  const bool all_digits =
      !port_text.empty() && port_text.size() <= 5 &&
      std::all_of(port_text.begin(), port_text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      });
  int port = 0;
  if (!all_digits || !absl::SimpleAtoi(port_text, &port) || port < 1 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", server, "\": port must be 1..65535"));
  }
  if (host == "localhost" || host == "[::1]") return absl::OkStatus();
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1 &&
      (ntohl(v4.s_addr) >> 24) == 127) {
    return absl::OkStatus();
  }
  return refused;
}

namespace {

// The value of `descriptor` named prefix + upper-cased `name`.
absl::StatusOr<int> ParseEnumName(const google::protobuf::EnumDescriptor* d,
                                  const std::string& prefix,
                                  const std::string& name) {
  std::string upper = absl::AsciiStrToUpper(name);
  for (char& c : upper) {
    if (c == '-') c = '_';
  }
  const auto* value = d->FindValueByName(prefix + upper);
  if (value != nullptr && value->number() != 0) return value->number();
  std::vector<std::string> known;
  for (int i = 0; i < d->value_count(); ++i) {
    if (d->value(i)->number() == 0) continue;
    known.push_back(
        absl::AsciiStrToLower(d->value(i)->name().substr(prefix.size())));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown name \"", name, "\"; one of ", absl::StrJoin(known, ", ")));
}

}  // namespace

absl::StatusOr<query::v1::PyramidTier> ParsePyramidTier(
    const std::string& name) {
  auto v =
      ParseEnumName(query::v1::PyramidTier_descriptor(), "PYRAMID_TIER_", name);
  if (!v.ok()) return v.status();
  return static_cast<query::v1::PyramidTier>(*v);
}

absl::StatusOr<query::v1::LifecycleStage> ParseLifecycleStage(
    const std::string& name) {
  auto v = ParseEnumName(query::v1::LifecycleStage_descriptor(),
                         "LIFECYCLE_STAGE_", name);
  if (!v.ok()) return v.status();
  return static_cast<query::v1::LifecycleStage>(*v);
}

absl::StatusOr<query::v1::Dimension> ParseDimension(const std::string& name) {
  auto v = ParseEnumName(query::v1::Dimension_descriptor(), "DIMENSION_", name);
  if (!v.ok()) return v.status();
  return static_cast<query::v1::Dimension>(*v);
}

}  // namespace kehu::bench
