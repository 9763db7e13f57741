#include "infra/app/format.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace kehu::app {

ReplayProgressDisplay::ReplayProgressDisplay(std::string command,
                                             std::string label,
                                             projections::ReplayOptions* replay)
    : command_(std::move(command)),
      label_(label.empty() ? "" : label + " "),
      tty_(isatty(STDERR_FILENO) == 1) {
  replay->progress_interval = tty_ ? absl::Milliseconds(250) : absl::Seconds(5);
  replay->on_progress = [this](const projections::ReplayProgress& p) {
    Show(p);
  };
}

ReplayProgressDisplay::~ReplayProgressDisplay() {
  if (bar_shown_) std::cerr << "\n";
}

void ReplayProgressDisplay::Show(const projections::ReplayProgress& p) {
  std::string line =
      FormatProgress(p.records_done, p.records_total, p.elapsed, tty_);
  if (!p.stage.empty()) line.append("  ").append(p.stage);
  if (tty_) {
    std::cerr << "\r" << label_ << line << "\033[K" << std::flush;
    bar_shown_ = true;
  } else {
    std::cerr << "kehu " << command_ << ": " << label_ << line << "\n";
  }
}

std::string FormatSnapshots(const admin::v1::ListSnapshotsResponse& r) {
  if (r.snapshots().empty()) return "no population snapshots\n";
  std::string out =
      absl::StrFormat("%-12s %-11s %10s %10s %8s %12s\n", "snapshot",
                      "measured", "active", "purchasing", "key", "log records");
  for (const admin::v1::SnapshotStatus& s : r.snapshots()) {
    int64_t records = 0;
    for (int64_t position : s.log_positions()) records += position;
    absl::StrAppendFormat(&out, "%-12s %-11s %10d %10d %8d %12d\n", s.name(),
                          FormatDate(s.measured()), s.active_customers(),
                          s.purchasing_customers(), s.key_customers(), records);
  }
  return out;
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  // Every kehu message has a JSON form; a failure would leave json empty.
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  std::cout << json;
}
namespace {

int CurrencyExponent(const std::string& currency) {
  static const char* const kZero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                      "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
                                      "VUV", "XAF", "XOF", "XPF"};
  static const char* const kThree[] = {"BHD", "IQD", "JOD", "KWD",
                                       "LYD", "OMR", "TND"};
  for (const char* code : kZero) {
    if (currency == code) return 0;
  }
  for (const char* code : kThree) {
    if (currency == code) return 3;
  }
  return 2;
}

}  // namespace

bool ParseDay(const std::string& text, absl::Time* day) {
  std::string err;
  return absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), day, &err);
}

bool ParseDayOrTime(const std::string& text, absl::Time* time) {
  if (ParseDay(text, time)) return true;
  std::string err;
  return absl::ParseTime(absl::RFC3339_full, text, time, &err);
}

std::string FormatShortDuration(absl::Duration d) {
  const int64_t seconds =
      std::max<int64_t>(0, absl::ToInt64Seconds(d + absl::Milliseconds(500)));
  if (seconds < 60) return absl::StrCat(seconds, "s");
  if (seconds < 3600) {
    return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  }
  return absl::StrFormat("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
}

std::string FormatProgress(int64_t done, int64_t total, absl::Duration elapsed,
                           bool bar) {
  const double fraction =
      total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 1.0;
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double rate = seconds > 0 ? done / seconds : 0;
  std::string out;
  if (bar) {
    constexpr int kCells = 20;
    const int full = static_cast<int>(fraction * kCells);
    out = absl::StrCat("[", std::string(full, '#'),
                       std::string(kCells - full, '.'), "] ");
  }
  absl::StrAppend(&out, done, "/", total, " events  ",
                  absl::StrFormat("%.1f%%", 100 * fraction), "  ",
                  absl::StrFormat("%.0f", rate), " events/s  ETA ");
  if (done >= total) {
    absl::StrAppend(&out, "0s");
  } else if (rate > 0) {
    absl::StrAppend(&out, FormatShortDuration(absl::Seconds(
                              static_cast<double>(total - done) / rate)));
  } else {
    absl::StrAppend(&out, "-");
  }
  return out;
}

std::string FormatMoney(int64_t minor_units, const std::string& currency) {
  const int exponent = CurrencyExponent(currency);
  if (exponent == 0) return absl::StrCat(minor_units, " ", currency);
  int64_t scale = exponent == 3 ? 1000 : 100;
  const char* sign = minor_units < 0 ? "-" : "";
  uint64_t abs = minor_units < 0 ? 0 - static_cast<uint64_t>(minor_units)
                                 : static_cast<uint64_t>(minor_units);
  return absl::StrFormat("%s%d.%0*d %s", sign, abs / scale, exponent,
                         abs % scale, currency);
}

std::string FormatDate(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

std::string ShortEnumName(const std::string& full_name,
                          const std::string& prefix) {
  std::string name = full_name;
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  absl::AsciiStrToLower(&name);
  for (char& c : name) {
    if (c == '_') c = ' ';
  }
  return name;
}

std::string FormatCustomer(const query::v1::CustomerView& view) {
  using events::v1::RelationshipType_Name;
  const auto& p = view.profile();
  std::string out = absl::StrCat(
      "customer ", view.customer_id(),
      p.name().empty() ? "" : absl::StrCat(" (", p.name(), ")"), "\n");
  absl::StrAppend(
      &out, "  relationship   ",
      ShortEnumName(RelationshipType_Name(p.relationship_type()),
                    "RELATIONSHIP_TYPE_"),
      p.region().empty() ? "" : absl::StrCat(", region ", p.region()), "\n");
  absl::StrAppend(
      &out, "  lifecycle      ",
      ShortEnumName(query::v1::LifecycleStage_Name(view.lifecycle().stage()),
                    "LIFECYCLE_STAGE_"),
      " since ", FormatDate(view.lifecycle().since()), "\n");
  absl::StrAppend(&out, "  interactions   first ",
                  FormatDate(p.first_interaction_at()), ", last ",
                  FormatDate(p.last_interaction_at()), "\n");
  const auto& o = view.orders();
  absl::StrAppend(&out, "  purchases      ", o.purchase_count(), " (first ",
                  FormatDate(o.first_purchase_at()), ", last ",
                  FormatDate(o.last_purchase_at()), "), ", o.cancelled_count(),
                  " cancelled, ", o.returned_count(), " with returns\n");
  for (const auto& t : o.totals()) {
    absl::StrAppend(&out, "  revenue        ",
                    FormatMoney(t.revenue_minor(), t.currency()), ", margin ",
                    FormatMoney(t.margin_minor(), t.currency()), ", refunded ",
                    FormatMoney(t.refunded_minor(), t.currency()), ", paid ",
                    FormatMoney(t.paid_minor(), t.currency()), "\n");
  }
  const auto& c = view.counts();
  absl::StrAppend(&out, "  contacts       ", c.calls(), " calls, ", c.emails(),
                  " emails, ", c.surveys(), " surveys\n");
  absl::StrAppend(&out, "  complaints     ", view.complaints().open_count(),
                  " open, ", view.complaints().resolved_count(), " resolved\n");
  const auto& c2 = view.complaints();
  if (c2.sla_breaches() > 0 || c2.open_count() > 0) {
    absl::StrAppendFormat(&out,
                          "                 oldest open %.0f h, %d SLA "
                          "breaches, mean resolution %.1f h\n",
                          c2.oldest_open_age_hours(), c2.sla_breaches(),
                          c2.mean_resolution_hours());
  }
  const std::string& cur = view.currency();
  if (view.rfm().has_purchase()) {
    absl::StrAppendFormat(&out,
                          "  rfm            recency %.0f days, %d purchases "
                          "and %s margin in the last 365 days\n",
                          view.rfm().recency_days(), view.rfm().frequency(),
                          FormatMoney(view.rfm().monetary_minor(), cur));
  }
  auto index = [](bool has, double value) {
    return has ? absl::StrFormat("%.1f", value) : std::string("-");
  };
  absl::StrAppend(
      &out, "  satisfaction   ",
      index(view.satisfaction().has_index(), view.satisfaction().index()),
      " / 100, loyalty ",
      index(view.loyalty().has_index(), view.loyalty().index()), " / 100\n");
  if (view.credit().payments_with_due_date() > 0) {
    absl::StrAppendFormat(
        &out,
        "  credit         %.0f%% of %d payments on time, %s outstanding\n",
        100 * view.credit().on_time_share(),
        view.credit().payments_with_due_date(),
        FormatMoney(view.credit().outstanding_minor(), cur));
  } else {
    absl::StrAppend(&out, "  credit         no payment with a due date, ",
                    FormatMoney(view.credit().outstanding_minor(), cur),
                    " outstanding\n");
  }
  absl::StrAppend(&out, "  profit         ",
                  FormatMoney(view.profit().profit_minor(), cur), " after ",
                  FormatMoney(view.profit().cost_to_serve_minor(), cur),
                  " cost to serve",
                  view.profit().unprofitable() ? " (unprofitable)" : "", "\n");
  const auto& seg = view.segments();
  if (seg.has_population_as_of()) {
    absl::StrAppendFormat(
        &out, "  segments       RFM %d-%d-%d, %s, pyramid %s, matrix %s\n",
        seg.recency_score(), seg.frequency_score(), seg.monetary_score(),
        seg.pareto_key() ? "pareto key" : "pareto ordinary",
        ShortEnumName(query::v1::PyramidTier_Name(seg.pyramid_tier()),
                      "PYRAMID_TIER_"),
        ShortEnumName(query::v1::ValueMatrixCell_Name(seg.matrix_cell()),
                      "VALUE_MATRIX_CELL_"));
    absl::StrAppend(&out, "  population     measured ",
                    FormatDate(seg.population_as_of()),
                    seg.population_snapshot().empty()
                        ? " (the last fit)"
                        : absl::StrCat(" (snapshot ", seg.population_snapshot(),
                                       ")"),
                    "\n");
    if (seg.has_p_alive()) {
      absl::StrAppendFormat(
          &out, "  value          current %s, potential %s, P(alive) %.2f\n",
          FormatMoney(static_cast<int64_t>(view.value().current_minor()), cur),
          FormatMoney(static_cast<int64_t>(view.value().potential_minor()),
                      cur),
          seg.p_alive());
    }
    if (seg.win_back() != query::v1::WIN_BACK_PRIORITY_NONE) {
      absl::StrAppend(
          &out, "  win back       ",
          ShortEnumName(query::v1::WinBackPriority_Name(seg.win_back()),
                        "WIN_BACK_PRIORITY_"),
          "\n");
    }
  }
  absl::StrAppend(&out, "  as of          ", FormatDate(view.as_of()), "\n");
  absl::StrAppend(&out, "  log position   partition ",
                  view.position().partition(), " offset ",
                  view.position().offset(), "\n");
  return out;
}

std::string FormatTop(const query::v1::TopCustomersResponse& top) {
  std::string out = absl::StrFormat(
      "%4s  %-12s %-24s %-16s %-10s %-9s %9s  %16s\n", "rank", "customer",
      "name", "relationship", "lifecycle", "tier", "purchases", "value");
  for (const auto& ranked : top.customers()) {
    const auto& v = ranked.customer();
    std::string value = top.metric() == query::v1::METRIC_PURCHASE_COUNT
                            ? absl::StrCat(ranked.value())
                            : FormatMoney(ranked.value(), top.currency());
    absl::StrAppendFormat(
        &out, "%4d  %-12s %-24s %-16s %-10s %-9s %9d  %16s\n", ranked.rank(),
        v.customer_id(), v.profile().name().substr(0, 24),
        ShortEnumName(
            events::v1::RelationshipType_Name(v.profile().relationship_type()),
            "RELATIONSHIP_TYPE_"),
        ShortEnumName(query::v1::LifecycleStage_Name(v.lifecycle().stage()),
                      "LIFECYCLE_STAGE_"),
        v.segments().has_population_as_of()
            ? ShortEnumName(
                  query::v1::PyramidTier_Name(v.segments().pyramid_tier()),
                  "PYRAMID_TIER_")
            : "-",
        v.orders().purchase_count(), value);
  }
  return out;
}

namespace {

std::string Stage(query::v1::LifecycleStage stage) {
  return ShortEnumName(query::v1::LifecycleStage_Name(stage),
                       "LIFECYCLE_STAGE_");
}

std::string Optional(bool has, double value, const char* format) {
  return has ? absl::StrFormat(format, value) : std::string("-");
}

}  // namespace

std::string FormatCustomerList(const query::v1::ListCustomersResponse& list,
                               const std::string& currency) {
  std::string out = absl::StrFormat(
      "%-14s %-20s %-10s %-10s %-8s %-5s %14s %16s %6s %6s %s\n", "customer",
      "name", "stage", "tier", "cell", "RFM", "current value",
      "historical value", "churn", "CSI", "last purchase");
  for (const auto& c : list.customers()) {
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "%-14s %-20s %-10s %-10s %-8s %d%d%d   %14s %16s %6s %6s %s\n",
            c.customer_id(), c.name().substr(0, 20), Stage(c.stage()),
            ShortEnumName(query::v1::PyramidTier_Name(c.pyramid_tier()),
                          "PYRAMID_TIER_"),
            ShortEnumName(query::v1::ValueMatrixCell_Name(c.matrix_cell()),
                          "VALUE_MATRIX_CELL_"),
            c.recency_score(), c.frequency_score(), c.monetary_score(),
            c.has_current_value()
                ? FormatMoney(static_cast<int64_t>(c.current_value_minor()),
                              currency)
                : "-",
            FormatMoney(c.historical_value_minor(), currency),
            Optional(c.has_churn_risk(), c.churn_risk(), "%.2f"),
            Optional(c.has_satisfaction(), c.satisfaction(), "%.0f"),
            FormatDate(c.last_purchase_at())));
  }
  absl::StrAppend(&out, list.customers_size(), " customers (",
                  list.examined(), " index entries examined)\n");
  if (!list.next_page_token().empty()) {
    absl::StrAppend(&out, "more: --page-token ", list.next_page_token(), "\n");
  }
  return out;
}

std::string FormatSegmentSummary(const query::v1::SegmentSummaryResponse& s) {
  std::string out = absl::StrFormat("%-16s %10s %7s %18s %7s %18s %7s\n",
                                    "segment", "customers", "share", "revenue",
                                    "share", "margin", "share");
  for (const auto& seg : s.segments()) {
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-16s %10d %6.1f%% %18s %6.1f%% %18s %6.1f%%\n",
                  seg.value(), seg.customers(), 100 * seg.customer_share(),
                  FormatMoney(seg.revenue_minor(), s.currency()),
                  100 * seg.revenue_share(),
                  FormatMoney(seg.margin_minor(), s.currency()),
                  100 * seg.margin_share()));
  }
  absl::StrAppend(
      &out, absl::StrFormat("%-16s %10d %7s %18s %7s %18s\n", "all",
                            s.customers(), "",
                            FormatMoney(s.revenue_minor(), s.currency()), "",
                            FormatMoney(s.margin_minor(), s.currency())));
  absl::StrAppend(&out, "\nlifecycle transitions ", s.from_month(), " .. ",
                  s.to_month(), ":\n");
  if (s.transitions().empty()) absl::StrAppend(&out, "  none\n");
  for (const auto& t : s.transitions()) {
    absl::StrAppend(&out, absl::StrFormat("  %-10s -> %-10s %10d\n",
                                          Stage(t.from()), Stage(t.to()),
                                          t.count()));
  }
  return out;
}

std::string FormatTimeline(const query::v1::TimelineResponse& timeline) {
  std::string out;
  for (const auto& e : timeline.events()) {
    const auto& event = e.event();
    const auto* field = event.GetDescriptor()->FindFieldByNumber(
        static_cast<int>(event.payload_case()));
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "%s  %-20s %-36s %s:%d\n",
            absl::FormatTime("%Y-%m-%d %H:%M:%S",
                             absl::FromUnixSeconds(event.occurred_at().seconds()),
                             absl::UTCTimeZone()),
            field != nullptr ? field->name() : "?", event.event_id(),
            event.source(), e.position().offset()));
  }
  if (timeline.events().empty()) absl::StrAppend(&out, "no events\n");
  if (!timeline.next_page_token().empty()) {
    absl::StrAppend(&out, "more: --page-token ", timeline.next_page_token(),
                    "\n");
  }
  return out;
}

std::string FormatSatisfaction(
    const query::v1::SatisfactionReportResponse& report) {
  std::string out = absl::StrFormat(
      "%-7s %-16s %6s %7s %6s %6s %6s %10s %8s %10s\n", "month", "group",
      "CSI", "NPS", "(n)", "CSAT", "(n)", "compl/ord", "(n)", "resolve h");
  for (const auto& m : report.months()) {
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "%-7s %-16s %6s %7s %6d %6s %6d %10s %8d %10s\n", m.month(),
            m.group(), Optional(m.has_csi(), m.csi(), "%.1f"),
            Optional(m.nps_answers() > 0, m.nps(), "%+.1f"), m.nps_answers(),
            Optional(m.csat_answers() > 0, m.csat_mean(), "%.2f"),
            m.csat_answers(),
            Optional(m.purchases() > 0, m.complaint_rate(), "%.3f"),
            m.complaints(),
            Optional(m.resolutions() > 0, m.mean_resolution_hours(), "%.1f")));
  }
  return out;
}

namespace {

// A fact's or threshold's value in its unit (ExplainedFact.unit).
std::string FormatValue(double value, const std::string& unit,
                        const std::string& currency) {
  if (unit == "money") {
    return FormatMoney(static_cast<int64_t>(std::llround(value)), currency);
  }
  if (unit == "ratio") return absl::StrFormat("%.3f", value);
  if (unit == "points") return absl::StrFormat("%.1f", value);
  if (unit == "answer") return absl::StrFormat("%.2f", value);
  if (unit == "days" || unit == "weeks") {
    return absl::StrFormat("%.1f %s", value, unit);
  }
  return absl::StrFormat("%g", value);
}

std::string ClassificationName(query::v1::Classification c) {
  switch (c) {
    case query::v1::CLASSIFICATION_PYRAMID_TIER:
      return "pyramid tier";
    case query::v1::CLASSIFICATION_PARETO:
      return "Pareto set";
    case query::v1::CLASSIFICATION_LIFECYCLE_STAGE:
      return "lifecycle stage";
    case query::v1::CLASSIFICATION_SATISFACTION_BAND:
      return "satisfaction band";
    case query::v1::CLASSIFICATION_CHURN_RISK_BAND:
      return "churn-risk band";
    case query::v1::CLASSIFICATION_VALUE_MATRIX_CELL:
      return "value-matrix cell";
    default:
      return "classification";
  }
}

const char* OpForPeople(const std::string& op) {
  if (op == ">=") return "≥";
  if (op == "<=") return "≤";
  return op.c_str();
}

}  // namespace

std::string FormatExplanation(const query::v1::ExplainResponse& e) {
  const std::string population =
      e.has_population_as_of()
          ? absl::StrCat("population measured ",
                         FormatDate(e.population_as_of()))
          : "no population measured yet";
  std::string out = absl::StrCat(
      "customer ", e.customer_id(), ": ", ClassificationName(e.classification()),
      " ", ShortEnumName(e.value(), ""), "\n", "as of ", FormatDate(e.as_of()),
      ", ", population, "\n\nfacts\n");
  for (const auto& f : e.facts()) {
    absl::StrAppend(&out, absl::StrFormat("  %-50s %s\n", f.name(),
                                          FormatValue(f.value(), f.unit(),
                                                      e.currency())));
  }
  absl::StrAppend(&out, "\nrule (the first step that holds decides)\n");
  for (const auto& step : e.rule()) {
    absl::StrAppend(&out, absl::StrFormat("  %-4s %s\n",
                                          step.holds() ? "yes" : "no",
                                          ShortEnumName(step.outcome(), "")));
    for (const auto& c : step.comparisons()) {
      std::string threshold =
          FormatValue(c.threshold_value(), c.unit(), e.currency());
      if (!c.threshold().empty()) {
        threshold = absl::StrCat(c.threshold(), " ", threshold);
      }
      std::string source;
      if (c.source() == query::v1::THRESHOLD_SOURCE_POPULATION) {
        source = absl::StrCat(" (", population, ")");
      } else if (c.source() == query::v1::THRESHOLD_SOURCE_CUSTOMER_HISTORY) {
        source = " (from the customer's own purchase gaps)";
      } else if (c.source() == query::v1::THRESHOLD_SOURCE_CONFIGURATION &&
                 !c.threshold().empty()) {
        source = " (configured)";
      }
      absl::StrAppend(
          &out, absl::StrFormat(
                    "         %s %s %s %s%s: %s\n", c.fact(),
                    FormatValue(c.value(), c.unit(), e.currency()),
                    OpForPeople(c.op()), threshold, source,
                    c.holds() ? "holds" : "does not hold"));
    }
    if (!step.note().empty()) {
      absl::StrAppend(&out, "         ", step.note(), "\n");
    }
  }
  absl::StrAppend(&out, "\nevents behind the facts (latest first)\n");
  for (const auto& ev : e.events()) {
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "  %s  %-20s %-36s offset %d\n",
            absl::FormatTime("%Y-%m-%d %H:%M:%S",
                             absl::FromUnixSeconds(ev.occurred_at().seconds()),
                             absl::UTCTimeZone()),
            ev.type(), ev.event_id(), ev.position().offset()));
  }
  if (e.events().empty()) absl::StrAppend(&out, "  none\n");
  if (e.unlisted_events() > 0) {
    absl::StrAppend(&out, "  and ", e.unlisted_events(),
                    " more (-n to list more)\n");
  }
  if (!e.events_complete()) {
    absl::StrAppend(&out,
                    "  (the timeline is longer than one call examines: older "
                    "events were not looked for)\n");
  }
  return out;
}

}  // namespace kehu::app
