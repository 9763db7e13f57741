// kehu-query-load: the query-latency benchmark client. Puts GetCustomer,
// ListCustomers or SegmentSummary load on a kehu query service on this
// machine, at a fixed offered rate (open loop) or at saturation (closed
// loop), and prints achieved rate, errors by status code and latency
// percentiles per run and their medians; --json and --markdown append them
// to files. How it measures: tests/bench/load_runner.h; how to run the
// whole benchmark: tests/bench/README.md.
//
// Flag parsing only; the load is QueryLoad, the output load_report.h.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/bench/load_report.h"
#include "tests/bench/load_runner.h"
#include "tests/bench/query_load_options.h"

namespace {

using kehu::bench::CallKind;
using kehu::bench::LoadOptions;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int Usage(const std::string& flag, const std::string& message) {
  std::cerr << "kehu-query-load: " << flag << ": " << message << "\n";
  return kExitUsage;
}

// Opens `path` for appending; false, after saying why, when it cannot.
bool OpenForAppend(const std::string& flag, const std::string& path,
                   std::ofstream* out) {
  out->open(path, std::ios::app);
  if (!*out) {
    std::cerr << "kehu-query-load: " << flag << ": cannot open " << path
              << " for appending: " << std::strerror(errno) << "\n";
    return false;
  }
  return true;
}

int Main(int argc, char** argv) {
  // As in `kehu` (infra/app/main.cc): Debian's Abseil checks every
  // absl::Mutex (gRPC's too) against a process-wide lock graph, which cost
  // this client about 4 % of its CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "kehu-query-load: latency of kehu.query.v1.Query calls at a fixed "
      "offered rate (open loop) or at saturation"};
  LoadOptions options;
  std::string call = "get";
  double duration_seconds = 10;
  double warmup_seconds = 2;
  int deadline_ms = 5000;
  std::string as_of;
  std::string tier;
  std::string stage;
  std::string dimension = "pyramid_tier";
  std::string json_path;
  std::string markdown_path;

  app.add_option("--server", options.server,
                 "Query service, HOST:PORT on loopback")
      ->capture_default_str();
  app.add_option("--call", call, "get, list or summary")
      ->check(CLI::IsMember({"get", "list", "summary"}))
      ->capture_default_str();
  app.add_option("--rate", options.rate,
                 "Offered requests/s, open loop; 0: saturation (closed loop "
                 "with --concurrency outstanding)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  auto* concurrency_flag =
      app.add_option("--concurrency", options.concurrency,
                     "Requests outstanding at saturation (--rate 0)")
          ->check(CLI::Range(1, 10000))
          ->capture_default_str();
  app.add_option("--duration", duration_seconds, "Measured seconds per run")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  app.add_option("--warmup", warmup_seconds,
                 "Seconds of load before each run's measured window")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  app.add_option("--deadline-ms", deadline_ms,
                 "Deadline of every request, from its due time")
      ->check(CLI::Range(1, 600000))
      ->capture_default_str();
  app.add_option("--runs", options.runs, "Runs; the medians are reported too")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--threads", options.threads,
                 "Client threads (each with a completion queue)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--channels", options.channels,
                 "gRPC channels (one connection each)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--max-outstanding", options.max_outstanding,
                 "Open loop: requests in flight at most; a due request waits "
                 "(and its wait counts in its latency)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  auto* customers_flag =
      app.add_option("--customers", options.customers,
                     "get: ids are --id-format of 1..N, drawn uniformly")
          ->check(CLI::Range(int64_t{1}, int64_t{1000000000}))
          ->capture_default_str();
  auto* id_format_flag =
      app.add_option("--id-format", options.id_format,
                     "get: printf-like id pattern with one integer "
                     "conversion, as the simulator writes ids")
          ->capture_default_str();
  app.add_option("--seed", options.seed, "get: random seed of the ids")
      ->capture_default_str();
  auto* as_of_flag = app.add_option(
      "--as-of", as_of, "get: reference date YYYY-MM-DD (UTC) of the views");
  auto* tier_flag = app.add_option(
      "--tier", tier, "list: pyramid tier filter (key, potential, ...)");
  auto* stage_flag = app.add_option(
      "--stage", stage, "list: lifecycle stage filter (loyal, at_risk, ...)");
  auto* page_size_flag =
      app.add_option("--page-size", options.page_size, "list: page size")
          ->check(CLI::Range(1, 1000))
          ->capture_default_str();
  auto* dimension_flag =
      app.add_option("--dimension", dimension,
                     "summary: pyramid_tier, pareto, lifecycle_stage, "
                     "matrix_cell, relationship_type or region")
          ->capture_default_str();
  app.add_option("--label", options.label,
                 "Name of the figures in --json and --markdown");
  app.add_option("--json", json_path,
                 "Append the runs and medians to FILE as one JSON line");
  app.add_option("--markdown", markdown_path,
                 "Append a markdown table row of the medians to FILE (the "
                 "header first when FILE is empty)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (absl::Status s = kehu::bench::CheckLoopbackTarget(options.server);
      !s.ok()) {
    return Usage("--server", std::string(s.message()));
  }
  options.call = call == "get"    ? CallKind::kGetCustomer
                 : call == "list" ? CallKind::kListCustomers
                                  : CallKind::kSegmentSummary;
  // A flag of another call, or of saturation at a fixed rate, would be
  // silently ignored: refuse it instead.
  const auto refuse_unless = [&](CLI::Option* flag, bool applies,
                                 const std::string& where) {
    return flag->count() > 0 && !applies
               ? Usage(flag->get_name(), "applies to " + where + " only")
               : kExitOk;
  };
  const bool get = options.call == CallKind::kGetCustomer;
  const bool list = options.call == CallKind::kListCustomers;
  for (auto [flag, applies, where] :
       std::initializer_list<std::tuple<CLI::Option*, bool, std::string>>{
           {concurrency_flag, options.rate == 0, "--rate 0 (saturation)"},
           {customers_flag, get, "--call get"},
           {id_format_flag, get, "--call get"},
           {as_of_flag, get, "--call get"},
           {tier_flag, list, "--call list"},
           {stage_flag, list, "--call list"},
           {page_size_flag, list, "--call list"},
           {dimension_flag, options.call == CallKind::kSegmentSummary,
            "--call summary"}}) {
    if (int code = refuse_unless(flag, applies, where); code != kExitOk) {
      return code;
    }
  }
  if (auto format = kehu::bench::CustomerIdFormat::Parse(options.id_format);
      !format.ok()) {
    return Usage("--id-format", std::string(format.status().message()));
  }
  if (!as_of.empty()) {
    absl::Time t;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%d", as_of, absl::UTCTimeZone(), &t, &error)) {
      return Usage("--as-of", "expected YYYY-MM-DD, got \"" + as_of + "\"");
    }
    options.as_of = t;
  }
  if (!tier.empty()) {
    auto v = kehu::bench::ParsePyramidTier(tier);
    if (!v.ok()) return Usage("--tier", std::string(v.status().message()));
    options.tier = *v;
  }
  if (!stage.empty()) {
    auto v = kehu::bench::ParseLifecycleStage(stage);
    if (!v.ok()) return Usage("--stage", std::string(v.status().message()));
    options.stage = *v;
  }
  {
    auto v = kehu::bench::ParseDimension(dimension);
    if (!v.ok()) {
      return Usage("--dimension", std::string(v.status().message()));
    }
    options.dimension = *v;
  }
  options.duration = absl::Seconds(duration_seconds);
  options.warmup = absl::Seconds(warmup_seconds);
  options.deadline = absl::Milliseconds(deadline_ms);

  std::ofstream json;
  std::ofstream markdown;
  if (!json_path.empty() && !OpenForAppend("--json", json_path, &json)) {
    return kExitError;
  }
  if (!markdown_path.empty() &&
      !OpenForAppend("--markdown", markdown_path, &markdown)) {
    return kExitError;
  }

  auto load = kehu::bench::QueryLoad::Connect(options);
  if (!load.ok()) {
    std::cerr << "kehu-query-load: " << load.status().message() << "\n";
    return kExitError;
  }
  const absl::Time started_at = absl::Now();
  std::cout << "kehu-query-load: " << kehu::bench::CallKindName(options.call)
            << (options.label.empty() ? "" : " (" + options.label + ")")
            << " on " << options.server << ", offered "
            << kehu::bench::OfferedLoad(options) << ", " << options.runs
            << " runs of " << duration_seconds << " s after " << warmup_seconds
            << " s warmup, deadline " << deadline_ms << " ms, "
            << options.threads << " threads, " << options.channels
            << " channels\n"
            << std::flush;

  std::vector<kehu::bench::RunResult> results;
  std::vector<kehu::bench::Figures> figures;
  int64_t calls = 0;
  int64_t errors = 0;
  for (int run = 0; run < options.runs; ++run) {
    results.push_back((*load)->Run(run));
    figures.push_back(kehu::bench::FiguresOf(results.back()));
    calls += results.back().calls;
    errors += results.back().errors();
    std::cout << kehu::bench::FormatRun(run, options.runs, results.back())
              << std::flush;
  }
  std::cout << kehu::bench::FormatMedian(options.runs,
                                         kehu::bench::MedianOf(figures));

  if (json.is_open()) {
    json << kehu::bench::ToJson(options, results, started_at) << "\n";
  }
  if (markdown.is_open()) {
    std::error_code size_error;
    if (std::filesystem::file_size(markdown_path, size_error) == 0 ||
        size_error) {
      markdown << kehu::bench::MarkdownHeader();
    }
    markdown << kehu::bench::MarkdownRow(options, results);
  }
  if ((json.is_open() && !json.flush()) ||
      (markdown.is_open() && !markdown.flush())) {
    std::cerr << "kehu-query-load: cannot write the results: "
              << std::strerror(errno) << "\n";
    return kExitError;
  }
  if (errors > 0) {
    std::cerr << "kehu-query-load: " << errors << " of " << calls
              << " measured calls failed (errors by code above)\n";
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
