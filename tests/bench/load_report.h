// How kehu-query-load reports its runs: a text line per run and for the
// median over the runs, one JSON object per invocation (appended as one
// line to the --json file), and a markdown table row of the medians.
#ifndef KEHU_TESTS_BENCH_LOAD_REPORT_H_
#define KEHU_TESTS_BENCH_LOAD_REPORT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/bench/load_runner.h"
#include "tests/bench/query_load_options.h"

namespace kehu::bench {

// The figures of a run, or their medians over runs.
struct Figures {
  double achieved_rate = 0;  // answers per second in the window
  double ok_rate = 0;        // of them without error
  double calls = 0;          // measured requests
  double errors = 0;         // of them with an error status
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
  // CPU time of the client per answered request, warmup included.
  double client_cpu_us_per_call = 0;
  // Open loop only (has_send_lag): how late requests were sent.
  bool has_send_lag = false;
  double send_lag_p99_us = 0;
  double send_lag_max_us = 0;
};

Figures FiguresOf(const RunResult& run);

// Each figure's median over `runs` (the mean of the middle two for an even
// count), taken figure by figure: the medians may come from different runs.
// REQUIRES: !runs.empty().
Figures MedianOf(const std::vector<Figures>& runs);

// "10000/s" or "saturation, 16 outstanding".
std::string OfferedLoad(const LoadOptions& options);

// "run 2/5: ..." with the errors by code, newline-terminated.
std::string FormatRun(int run, int runs, const RunResult& result);
// "median of 5 runs: ...", newline-terminated.
std::string FormatMedian(int runs, const Figures& median);

// One JSON object (no newline) with the options, every run and the medians.
std::string ToJson(const LoadOptions& options,
                   const std::vector<RunResult>& results,
                   absl::Time started_at);

// The markdown table's header (two lines) and one row of the medians,
// newline-terminated.
std::string MarkdownHeader();
std::string MarkdownRow(const LoadOptions& options,
                        const std::vector<RunResult>& results);

}  // namespace kehu::bench

#endif  // KEHU_TESTS_BENCH_LOAD_REPORT_H_
