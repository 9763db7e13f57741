#include "producers/cdnow_import.h"

#include <fstream>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace kehu::producers {
namespace {

constexpr const char* kMasterColumns[] = {"customer_id", "date",
                                          "number_of_cds", "dollar_value"};
constexpr const char* kSampleColumns[] = {"customer_id", "sample_customer_id",
                                          "date", "number_of_cds",
                                          "dollar_value"};
// More digits than this cannot be a CD order and could overflow int64.
constexpr size_t kMaxDigits = 15;

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Parses a non-negative decimal integer of at most kMaxDigits digits.
std::optional<int64_t> ParseCount(const std::string& s) {
  if (!AllDigits(s) || s.size() > kMaxDigits) return std::nullopt;
  int64_t v = 0;
  if (!absl::SimpleAtoi(s, &v)) return std::nullopt;
  return v;
}

// Parses a dollar amount with at most two decimals ("11.77", "12", "0.5")
// exactly into cents, without going through floating point.
std::optional<int64_t> ParseCents(const std::string& s) {
  const size_t dot = s.find('.');
  const std::string whole = s.substr(0, dot);
  const std::string fraction =
      dot == std::string::npos ? "" : s.substr(dot + 1);
  if (dot != std::string::npos && fraction.empty()) return std::nullopt;
  if (fraction.size() > 2 || (!fraction.empty() && !AllDigits(fraction))) {
    return std::nullopt;
  }
  const std::optional<int64_t> dollars = ParseCount(whole);
  if (!dollars.has_value()) return std::nullopt;
  int64_t cents = 0;
  if (!fraction.empty()) {
    cents = *ParseCount(fraction);
    if (fraction.size() == 1) cents *= 10;
  }
  return *dollars * 100 + cents;
}

// Parses yyyymmdd into the day's midnight (UTC), seconds since the epoch.
std::optional<int64_t> ParseDate(const std::string& s) {
  if (s.size() != 8 || !AllDigits(s)) return std::nullopt;
  const int64_t year = *ParseCount(s.substr(0, 4));
  const int64_t month = *ParseCount(s.substr(4, 2));
  const int64_t day = *ParseCount(s.substr(6, 2));
  const absl::CivilDay civil(year, static_cast<int>(month),
                             static_cast<int>(day));
  // CivilDay normalizes (Feb 30 -> Mar 2): a real date survives unchanged.
  if (civil.year() != year || civil.month() != month || civil.day() != day) {
    return std::nullopt;
  }
  return absl::ToUnixSeconds(absl::FromCivil(civil, absl::UTCTimeZone()));
}

}  // namespace

std::string CdnowCustomerId(int64_t master_id) {
  return absl::StrFormat("cdnow-%05d", master_id);
}

CdnowReader::CdnowReader(std::istream* in, CdnowLayout layout)
    : in_(in), layout_(layout) {}

absl::StatusOr<bool> CdnowReader::Next(events::v1::Event* event) {
  std::string line;
  while (!done_) {
    if (!std::getline(*in_, line)) {
      done_ = true;
      if (in_->bad()) {
        return absl::DataLossError(absl::StrCat(
            "reading CDNOW rows failed after line ", line_number_));
      }
      return false;
    }
    ++line_number_;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (layout_ == CdnowLayout::kMaster && line_number_ == 1) {
      const std::vector<std::string> fields =
          absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
      if (fields.front() == kMasterColumns[0]) continue;
      return absl::InvalidArgumentError(
          "line 1: the master file's first line must be its header "
          "\"customer_id date number_of_cds dollar_value\"");
    }
    absl::StatusOr<events::v1::Event> parsed = ParseRow(line);
    if (!parsed.ok()) return parsed.status();
    *event = *std::move(parsed);
    return true;
  }
  return false;
}

absl::StatusOr<events::v1::Event> CdnowReader::ParseRow(
    const std::string& line) {
  const bool sample = layout_ == CdnowLayout::kSample;
  const std::vector<const char*> names =
      sample ? std::vector<const char*>(std::begin(kSampleColumns),
                                        std::end(kSampleColumns))
             : std::vector<const char*>(std::begin(kMasterColumns),
                                        std::end(kMasterColumns));
  const std::vector<std::string> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
  if (fields.size() != names.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", line_number_, ": expected ", names.size(), " columns (",
        absl::StrJoin(names, " "), "), got ", fields.size()));
  }
  // Column index (0-based) of each field in this layout.
  const size_t id_col = 0;
  const size_t date_col = sample ? 2 : 1;
  const size_t cds_col = date_col + 1;
  const size_t dollars_col = date_col + 2;
  auto bad = [&](size_t col, const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", line_number_, ": column ", col + 1, " (",
                     names[col], "): ", what, ", got \"", fields[col], "\""));
  };

  const std::optional<int64_t> id = ParseCount(fields[id_col]);
  if (!id.has_value()) return bad(id_col, "must be a customer number");
  if (sample) {
    const std::optional<int64_t> sample_id = ParseCount(fields[1]);
    if (!sample_id.has_value() || *sample_id <= 0) {
      return bad(1, "must be a positive customer number");
    }
  }
  const std::optional<int64_t> seconds = ParseDate(fields[date_col]);
  if (!seconds.has_value()) return bad(date_col, "must be a date yyyymmdd");
  const std::optional<int64_t> cds = ParseCount(fields[cds_col]);
  if (!cds.has_value() || *cds <= 0) {
    return bad(cds_col, "must be a positive number of CDs");
  }
  const std::optional<int64_t> cents = ParseCents(fields[dollars_col]);
  if (!cents.has_value()) {
    return bad(dollars_col,
               "must be a non-negative dollar amount with at most two "
               "decimals");
  }

  const std::string customer_id = CdnowCustomerId(*id);
  const int64_t ordinal = ++rows_per_customer_day_[absl::StrCat(
      customer_id, "-", fields[date_col])];
  const std::string event_id =
      absl::StrCat(customer_id, "-", fields[date_col], "-", ordinal);

  events::v1::Event event;
  event.set_event_id(event_id);
  event.set_customer_id(customer_id);
  event.mutable_occurred_at()->set_seconds(*seconds);
  event.set_source("cdnow");
  auto* order = event.mutable_order_placed();
  order->set_order_id(event_id);
  order->set_currency("USD");
  order->set_channel(events::v1::CONTACT_CHANNEL_WEB);
  auto* line_item = order->add_lines();
  line_item->set_sku("cd");
  line_item->set_category("music");
  line_item->set_quantity(*cds);
  // Round the unit price up and give the rest back as a discount of less
  // than a cent per CD, so that the line's net is exactly the row's value.
  const int64_t unit_price = (*cents + *cds - 1) / *cds;
  line_item->set_unit_price_minor(unit_price);
  line_item->set_discount_minor(unit_price * *cds - *cents);
  return event;
}

absl::StatusOr<std::vector<events::v1::Event>> ReadCdnowEvents(
    std::istream* in, CdnowLayout layout) {
  CdnowReader reader(in, layout);
  std::vector<events::v1::Event> events;
  events::v1::Event event;
  while (true) {
    absl::StatusOr<bool> got = reader.Next(&event);
    if (!got.ok()) return got.status();
    if (!*got) break;
    events.push_back(std::move(event));
  }
  return events;
}

absl::StatusOr<std::vector<events::v1::Event>> ReadCdnowFile(
    const std::string& path, CdnowLayout layout) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open the CDNOW file \"", path, "\""));
  }
  absl::StatusOr<std::vector<events::v1::Event>> events =
      ReadCdnowEvents(&in, layout);
  if (!events.ok()) {
    return absl::Status(events.status().code(),
                        absl::StrCat(path, ": ", events.status().message()));
  }
  return events;
}

}  // namespace kehu::producers
