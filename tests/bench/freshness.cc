// kehu-freshness: how long after an ingest is acknowledged its event shows
// in GetCustomer, on a kehu server on this machine. Prints each run and
// appends one JSON object per invocation to --json. How it measures:
// tests/bench/freshness_probe.h.
//
// Flag parsing only; the probing is FreshnessProbe.
#include <fstream>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/bench/freshness_probe.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

int Main(int argc, char** argv) {
  CLI::App app{
      "kehu-freshness: time from an acknowledged ingest to the event showing "
      "in GetCustomer"};
  kehu::bench::FreshnessOptions options;
  int deadline_ms = 5000;
  std::string occurred_at;
  std::string json_path;
  app.add_option("--server", options.server,
                 "host:port of kehu serve (loopback only)");
  app.add_option("--samples", options.samples, "probes per run")
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", options.rate, "probes per second (at most)")
      ->check(CLI::PositiveNumber);
  app.add_option("--runs", options.runs, "runs")->check(CLI::PositiveNumber);
  app.add_option("--customers", options.customers,
                 "probe customers id-format(1..N)")
      ->check(CLI::PositiveNumber);
  app.add_option("--id-format", options.id_format,
                 "customer id pattern with one %d/%u");
  app.add_option("--seed", options.seed, "seed of the customer draw");
  app.add_option("--deadline-ms", deadline_ms,
                 "how long a probe waits for its event to show")
      ->check(CLI::PositiveNumber);
  app.add_option("--occurred-at", occurred_at,
                 "the probe events' occurred_at, RFC 3339 (default: now)");
  app.add_option("--event-id-prefix", options.event_id_prefix,
                 "prefix of the probe events' ids");
  app.add_option("--label", options.label, "name in the JSON output");
  app.add_option("--json", json_path, "append the JSON object to this file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (occurred_at.empty()) {
    options.occurred_at = absl::Now();
  } else {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, occurred_at, &options.occurred_at,
                         &error)) {
      std::cerr << "kehu-freshness: --occurred-at: expected RFC 3339, got \""
                << occurred_at << "\"\n";
      return kExitUsage;
    }
  }
  options.deadline = absl::Milliseconds(deadline_ms);

  std::ofstream json;
  if (!json_path.empty()) {
    json.open(json_path, std::ios::app);
    if (!json) {
      std::cerr << "kehu-freshness: --json: cannot open " << json_path
                << " for appending\n";
      return kExitError;
    }
  }
  auto probe = kehu::bench::FreshnessProbe::Connect(options);
  if (!probe.ok()) {
    std::cerr << "kehu-freshness: " << probe.status().message() << "\n";
    return probe.status().code() == absl::StatusCode::kInvalidArgument
               ? kExitUsage
               : kExitError;
  }
  std::cout << "kehu-freshness: " << options.samples << " probes per run at "
            << options.rate << "/s, " << options.runs << " runs, on "
            << options.server << "\n"
            << std::flush;
  std::vector<kehu::bench::FreshnessRun> runs;
  for (int run = 0; run < options.runs; ++run) {
    runs.push_back((*probe)->Run(run));
    std::cout << kehu::bench::FormatFreshnessRun(run, options.runs, runs.back())
              << std::flush;
  }
  if (json.is_open()) {
    json << kehu::bench::FreshnessJson(options, runs) << "\n";
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
