// Formatting of views for people (the `kehu query` tables).
#ifndef KEHU_INFRA_APP_FORMAT_H_
#define KEHU_INFRA_APP_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "kehu/admin/v1/admin.pb.h"
#include "kehu/query/v1/query.pb.h"
#include "projections/replay.h"

namespace kehu::app {

// Parses "YYYY-MM-DD" as midnight UTC; false when it does not parse.
bool ParseDay(const std::string& text, absl::Time* day);

// Parses "YYYY-MM-DD" (midnight UTC) or an RFC 3339 time
// ("2025-03-31T23:59:59Z", "2025-03-31T12:00:00+02:00"); false when it is
// neither.
bool ParseDayOrTime(const std::string& text, absl::Time* time);

// A duration for people, rounded to seconds: "9s", "3m05s", "1h02m".
std::string FormatShortDuration(absl::Duration d);

// One line of progress through `total` items, `done` of them after
// `elapsed`: "1234567/5000000 events  24.7%  412345 events/s  ETA 9s";
// with `bar`, led by a bar of 20 cells ("[#####...............] ").
std::string FormatProgress(int64_t done, int64_t total, absl::Duration elapsed,
                           bool bar);

// Shows a replay's progress on stderr: on a terminal, a bar led by
// `label` and rewritten in place every 250 ms; in a log file or pipe, a
// plain line "kehu COMMAND: LABEL ..." every 5 s. The constructor sets
// `replay`'s on_progress and progress_interval, which then refer to this
// display; the destructor ends the bar's line.
class ReplayProgressDisplay {
 public:
  ReplayProgressDisplay(std::string command, std::string label,
                        projections::ReplayOptions* replay);
  ~ReplayProgressDisplay();
  ReplayProgressDisplay(const ReplayProgressDisplay&) = delete;
  ReplayProgressDisplay& operator=(const ReplayProgressDisplay&) = delete;

 private:
  void Show(const projections::ReplayProgress& progress);

  const std::string command_;
  const std::string label_;  // "" or ends with a space
  const bool tty_;
  bool bar_shown_ = false;
};

// The population snapshots as a table (`kehu snapshots list`, `kehu admin
// snapshots`).
std::string FormatSnapshots(const admin::v1::ListSnapshotsResponse& r);

// Prints `message` as protobuf's canonical JSON (field names as in the
// .proto, indented) on stdout: the --json output of every client command.
void PrintJson(const google::protobuf::Message& message);

// "1234.56 EUR": minor units shown with the currency's ISO 4217 exponent.
std::string FormatMoney(int64_t minor_units, const std::string& currency);
// "2025-03-31" (UTC), or "-" when unset.
std::string FormatDate(const google::protobuf::Timestamp& ts);
// "repeat", "new", ... without the enum prefix.
std::string ShortEnumName(const std::string& full_name,
                          const std::string& prefix);

// A multi-line description of one customer view.
std::string FormatCustomer(const query::v1::CustomerView& view);
// A table of ranked customers.
std::string FormatTop(const query::v1::TopCustomersResponse& top);
// A table of listed customers, money in `currency`.
std::string FormatCustomerList(const query::v1::ListCustomersResponse& list,
                               const std::string& currency);
// The segments with their shares, then the transitions of the period.
std::string FormatSegmentSummary(const query::v1::SegmentSummaryResponse& s);
// One line per event, newest first.
std::string FormatTimeline(const query::v1::TimelineResponse& timeline);
// One line per month (and group).
std::string FormatSatisfaction(
    const query::v1::SatisfactionReportResponse& report);
// The classification and its value, the facts, the rule's steps with each
// comparison and its outcome, and the events behind the facts.
std::string FormatExplanation(const query::v1::ExplainResponse& explanation);

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_FORMAT_H_
