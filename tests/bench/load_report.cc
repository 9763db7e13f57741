#include "tests/bench/load_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kehu::bench {
namespace {

double Micros(int64_t nanos) { return static_cast<double>(nanos) / 1000.0; }

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// "UNIMPLEMENTED 120, DEADLINE_EXCEEDED 3", or "" without errors.
std::string ErrorsByCode(const RunResult& result) {
  std::vector<std::string> parts;
  for (int code = 1; code < kStatusCodeCount; ++code) {
    if (result.errors_by_code[code] == 0) continue;
    parts.push_back(
        absl::StrCat(StatusCodeName(code), " ", result.errors_by_code[code]));
  }
  return absl::StrJoin(parts, ", ");
}

// The enum value's name without `prefix`, in lower case ("at_risk").
std::string ShortName(const std::string& full_name, const std::string& prefix) {
  return absl::AsciiStrToLower(
      full_name.substr(full_name.rfind(prefix, 0) == 0 ? prefix.size() : 0));
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.1f", v);
}

std::string FiguresJson(const Figures& f) {
  return absl::StrCat(
      "\"achieved_rate\":", JsonNumber(f.achieved_rate),
      ",\"ok_rate\":", JsonNumber(f.ok_rate),
      ",\"calls\":", JsonNumber(f.calls), ",\"errors\":", JsonNumber(f.errors),
      ",\"latency_us\":{\"p50\":", JsonNumber(f.p50_us),
      ",\"p99\":", JsonNumber(f.p99_us), ",\"p999\":", JsonNumber(f.p999_us),
      ",\"max\":", JsonNumber(f.max_us),
      "},\"client_cpu_us_per_call\":", JsonNumber(f.client_cpu_us_per_call),
      ",\"send_lag_us\":",
      f.has_send_lag
          ? absl::StrCat("{\"p99\":", JsonNumber(f.send_lag_p99_us),
                         ",\"max\":", JsonNumber(f.send_lag_max_us), "}")
          : "null");
}

std::string Label(const LoadOptions& options) {
  return options.label.empty() ? CallKindName(options.call) : options.label;
}

}  // namespace

Figures FiguresOf(const RunResult& run) {
  Figures f;
  f.achieved_rate = run.achieved_rate;
  f.ok_rate = run.ok_rate;
  f.calls = static_cast<double>(run.calls);
  f.errors = static_cast<double>(run.errors());
  f.p50_us = Micros(run.latency.ValueAtQuantile(0.5));
  f.p99_us = Micros(run.latency.ValueAtQuantile(0.99));
  f.p999_us = Micros(run.latency.ValueAtQuantile(0.999));
  f.max_us = Micros(run.latency.max());
  f.client_cpu_us_per_call =
      run.all_calls == 0
          ? 0
          : run.client_cpu_seconds * 1e6 / static_cast<double>(run.all_calls);
  f.has_send_lag = run.send_lag.count() > 0;
  f.send_lag_p99_us = Micros(run.send_lag.ValueAtQuantile(0.99));
  f.send_lag_max_us = Micros(run.send_lag.max());
  return f;
}

Figures MedianOf(const std::vector<Figures>& runs) {
  auto median = [&](double Figures::*field) {
    std::vector<double> values;
    for (const Figures& f : runs) values.push_back(f.*field);
    return Median(std::move(values));
  };
  Figures m;
  for (double Figures::*field :
       {&Figures::achieved_rate, &Figures::ok_rate, &Figures::calls,
        &Figures::errors, &Figures::p50_us, &Figures::p99_us, &Figures::p999_us,
        &Figures::max_us, &Figures::client_cpu_us_per_call,
        &Figures::send_lag_p99_us, &Figures::send_lag_max_us}) {
    m.*field = median(field);
  }
  m.has_send_lag = runs.front().has_send_lag;
  return m;
}

std::string OfferedLoad(const LoadOptions& options) {
  if (options.rate > 0) return absl::StrFormat("%g/s", options.rate);
  return absl::StrCat("saturation, ", options.concurrency, " outstanding");
}

namespace {

std::string FormatFigures(const Figures& f) {
  std::string out = absl::StrFormat(
      "achieved %.1f/s (ok %.1f/s), %.0f calls, %.0f errors; latency us "
      "p50 %.1f p99 %.1f p999 %.1f max %.1f",
      f.achieved_rate, f.ok_rate, f.calls, f.errors, f.p50_us, f.p99_us,
      f.p999_us, f.max_us);
  absl::StrAppendFormat(&out, "; client cpu us/call %.1f",
                        f.client_cpu_us_per_call);
  if (f.has_send_lag) {
    absl::StrAppendFormat(&out, "; send lag us p99 %.1f max %.1f",
                          f.send_lag_p99_us, f.send_lag_max_us);
  }
  return out;
}

}  // namespace

std::string FormatRun(int run, int runs, const RunResult& result) {
  std::string out = absl::StrFormat("run %d/%d: %s\n", run + 1, runs,
                                    FormatFigures(FiguresOf(result)));
  const std::string errors = ErrorsByCode(result);
  if (!errors.empty()) absl::StrAppend(&out, "  errors: ", errors, "\n");
  if (result.unsent > 0) {
    absl::StrAppend(&out,
                    "  of them never sent (deadline passed while the client "
                    "was behind or at --max-outstanding): ",
                    result.unsent, "\n");
  }
  if (result.idle_wait_seconds >= 0.5) {
    absl::StrAppendFormat(&out,
                          "  waited %.1f s before the run for the server to "
                          "answer earlier requests\n",
                          result.idle_wait_seconds);
  }
  if (result.warmup_errors > 0) {
    absl::StrAppend(&out, "  errors during warmup (not in the figures): ",
                    result.warmup_errors, "\n");
  }
  return out;
}

std::string FormatMedian(int runs, const Figures& median) {
  return absl::StrFormat("median of %d runs: %s\n", runs,
                         FormatFigures(median));
}

std::string ToJson(const LoadOptions& options,
                   const std::vector<RunResult>& results,
                   absl::Time started_at) {
  std::vector<Figures> figures;
  std::string runs;
  for (const RunResult& r : results) {
    figures.push_back(FiguresOf(r));
    std::vector<std::string> errors;
    for (int code = 1; code < kStatusCodeCount; ++code) {
      if (r.errors_by_code[code] == 0) continue;
      errors.push_back(absl::StrCat(JsonString(StatusCodeName(code)), ":",
                                    r.errors_by_code[code]));
    }
    absl::StrAppend(&runs, runs.empty() ? "" : ",", "{",
                    FiguresJson(figures.back()), ",\"errors_by_code\":{",
                    absl::StrJoin(errors, ","), "},\"unsent\":", r.unsent,
                    ",\"warmup_errors\":", r.warmup_errors,
                    ",\"idle_wait_s\":", JsonNumber(r.idle_wait_seconds), "}");
  }
  std::string request;
  switch (options.call) {
    case CallKind::kGetCustomer:
      request = absl::StrCat("\"customers\":", options.customers,
                             ",\"id_format\":", JsonString(options.id_format),
                             ",\"seed\":", options.seed);
      if (options.as_of) {
        absl::StrAppend(&request, ",\"as_of\":",
                        JsonString(absl::FormatTime("%Y-%m-%d", *options.as_of,
                                                    absl::UTCTimeZone())));
      }
      break;
    case CallKind::kListCustomers:
      request = absl::StrCat(
          "\"tier\":",
          options.tier
              ? JsonString(ShortName(query::v1::PyramidTier_Name(*options.tier),
                                     "PYRAMID_TIER_"))
              : "null",
          ",\"stage\":",
          options.stage ? JsonString(ShortName(
                              query::v1::LifecycleStage_Name(*options.stage),
                              "LIFECYCLE_STAGE_"))
                        : "null",
          ",\"page_size\":", options.page_size);
      break;
    case CallKind::kSegmentSummary:
      request = absl::StrCat(
          "\"dimension\":",
          JsonString(ShortName(query::v1::Dimension_Name(options.dimension),
                               "DIMENSION_")));
      break;
  }
  return absl::StrCat(
      "{\"label\":", JsonString(Label(options)),
      ",\"call\":", JsonString(CallKindName(options.call)), ",\"started_at\":",
      JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", started_at,
                                  absl::UTCTimeZone())),
      ",\"server\":", JsonString(options.server),
      ",\"offered\":", JsonString(OfferedLoad(options)),
      ",\"rate\":", JsonNumber(options.rate),
      ",\"concurrency\":", options.rate > 0 ? 0 : options.concurrency,
      ",\"duration_s\":", JsonNumber(absl::ToDoubleSeconds(options.duration)),
      ",\"warmup_s\":", JsonNumber(absl::ToDoubleSeconds(options.warmup)),
      ",\"deadline_ms\":", absl::ToInt64Milliseconds(options.deadline),
      ",\"threads\":", options.threads, ",\"channels\":", options.channels,
      ",\"request\":{", request, "},\"runs\":[", runs, "],\"median\":{",
      FiguresJson(MedianOf(figures)), "}}");
}

std::string MarkdownHeader() {
  return "| benchmark | offered | achieved ok/s | p50 µs | p99 µs | p999 µs "
         "| max µs | send lag p99 µs | errors (all runs) |\n"
         "|---|---|--:|--:|--:|--:|--:|--:|---|\n";
}

std::string MarkdownRow(const LoadOptions& options,
                        const std::vector<RunResult>& results) {
  std::vector<Figures> figures;
  RunResult errors;
  int64_t error_count = 0;
  for (const RunResult& r : results) {
    figures.push_back(FiguresOf(r));
    for (int code = 1; code < kStatusCodeCount; ++code) {
      errors.errors_by_code[code] += r.errors_by_code[code];
    }
    error_count += r.errors();
  }
  const Figures m = MedianOf(figures);
  const std::string by_code = ErrorsByCode(errors);
  return absl::StrFormat(
      "| %s | %s | %.0f | %.1f | %.1f | %.1f | %.1f | %s | %s |\n",
      Label(options), OfferedLoad(options), m.ok_rate, m.p50_us, m.p99_us,
      m.p999_us, m.max_us,
      m.has_send_lag ? absl::StrFormat("%.1f", m.send_lag_p99_us) : "-",
      error_count == 0 ? "0" : absl::StrCat(error_count, ": ", by_code));
}

}  // namespace kehu::bench
