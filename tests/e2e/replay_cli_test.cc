// `kehu replay` and `kehu digest` as an operator runs them: a server loaded
// through `kehu produce` and measured with `kehu fit`, stopped, its log
// replayed into a fresh directory — and both stores print the same digest.
#include <signal.h>

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kehu {
namespace {

using testing::Finished;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing::RunToEnd;
using testing::Subprocess;
using testing::TempDir;

Finished Kehu(std::vector<std::string> args) {
  args.insert(args.begin(), KEHU_BINARY);
  return RunToEnd(args);
}

// The first line of `kehu digest --data DIR`; fails the test on error.
std::string DigestOf(const std::string& data_dir) {
  Finished run = Kehu({"digest", "--data", data_dir});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, MatchesRegex("[0-9a-f]{64}\n")) << run.out;
  return run.out.substr(0, run.out.find('\n'));
}

TEST(ReplayCliTest, AReplayOfAServedLogHasTheServedStoresDigest) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  Subprocess server({KEHU_BINARY, "serve", "--data", data, "--listen",
                     "127.0.0.1:0", "--partitions", "4", "--fit-interval-hours",
                     "0"});
  const std::string line = server.ReadStderrUntil("listening on ");
  ASSERT_THAT(line, HasSubstr("127.0.0.1:")) << server.stderr_text();
  const size_t begin = line.find("listening on ") + 13;
  const std::string address = line.substr(begin, line.find(',', begin) - begin);

  Finished sim = Kehu({"simulate", "--customers", "300", "--seed", "9", "-o",
                       dir.Sub("events.ndjson")});
  ASSERT_EQ(sim.code, 0) << sim.err;
  Finished produce =
      Kehu({"produce", dir.Sub("events.ndjson"), "--server", address});
  ASSERT_EQ(produce.code, 0) << produce.err;
  Finished progress = Kehu(
      {"query", "progress", "--wait", "--timeout", "120", "--server", address});
  ASSERT_EQ(progress.code, 0) << progress.err;
  Finished fit = Kehu({"fit", "--as-of", "2026-01-01", "--server", address});
  ASSERT_EQ(fit.code, 0) << fit.err;

  // The digest reads the store beside the running server; a replay must
  // not read a log the server still appends to.
  const std::string served = DigestOf(data);
  Finished refused =
      Kehu({"replay", "--data", data, "--into", dir.Sub("early")});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("kehu serve"));
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1)
      << refused.err;

  server.Signal(SIGTERM);
  ASSERT_EQ(server.Wait(), 0) << server.stderr_text();
  EXPECT_EQ(DigestOf(data), served);

  Finished replay = Kehu({"replay", "--data", data, "--into",
                          dir.Sub("replayed"), "--fit-as-of", "2026-01-01"});
  ASSERT_EQ(replay.code, 0) << replay.err;
  EXPECT_THAT(replay.out, HasSubstr("events/s) into " + dir.Sub("replayed")));
  EXPECT_THAT(replay.out, HasSubstr("0 dead-lettered"));
  EXPECT_THAT(replay.out, HasSubstr("population as of 2026-01-01: "));
  // Not a terminal: plain progress lines, the last at 100%.
  EXPECT_THAT(replay.err, HasSubstr("kehu replay: "));
  EXPECT_THAT(replay.err, HasSubstr("100.0%"));
  EXPECT_THAT(replay.err, ::testing::Not(HasSubstr("\r")));
  EXPECT_EQ(DigestOf(dir.Sub("replayed")), served);

  // Without the fit, the population row and the standings differ.
  Finished unfitted =
      Kehu({"replay", "--data", data, "--into", dir.Sub("unfitted")});
  ASSERT_EQ(unfitted.code, 0) << unfitted.err;
  EXPECT_NE(DigestOf(dir.Sub("unfitted")), served);

  Finished families = Kehu({"digest", "--data", data, "--families"});
  ASSERT_EQ(families.code, 0) << families.err;
  EXPECT_THAT(families.out, HasSubstr(served + "\n"));
  EXPECT_THAT(
      families.out,
      MatchesRegex("(.|\n)*  customers +300 rows  [0-9a-f]{64}\n(.|\n)*"));
  EXPECT_THAT(families.out, HasSubstr("  segments "));
}

// `kehu produce --data` loads history straight into a stopped server's
// log: validated as the ingest API validates, and replayed like any log;
// a log a running server holds is refused, naming it.
TEST(ReplayCliTest, ProduceDataBulkLoadsTheEmbeddedLog) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  Finished sim = Kehu({"simulate", "--customers", "50", "--seed", "2", "-o",
                       dir.Sub("events.ndjson")});
  ASSERT_EQ(sim.code, 0) << sim.err;
  {
    std::ofstream events(dir.Sub("events.ndjson"), std::ios::app);
    events << R"({"eventId": "bad-1", "customerId": "C9", "occurredAt": )"
              R"("2025-02-01T00:00:00Z", "callLogged": {"durationSeconds": -5}})"
           << "\n";
  }
  Finished produce = Kehu({"produce", dir.Sub("events.ndjson"), "--data",
                           data, "--partitions", "4"});
  EXPECT_EQ(produce.code, 2) << produce.err;  // some rejected
  EXPECT_THAT(produce.err, HasSubstr("(event bad-1): call_logged."));
  EXPECT_THAT(produce.err, HasSubstr(" accepted, 1 rejected (" + data + "/log)"));
  const size_t at = produce.err.find(" accepted, 1 rejected");
  ASSERT_NE(at, std::string::npos) << produce.err;
  const size_t begin = produce.err.rfind(' ', at - 1) + 1;
  const std::string count = produce.err.substr(begin, at - begin);
  ASSERT_GT(std::stoi(count), 100);

  Finished replay = Kehu({"replay", "--data", data, "--into",
                          dir.Sub("replayed")});
  ASSERT_EQ(replay.code, 0) << replay.err;
  EXPECT_THAT(replay.out, HasSubstr("replayed " + count + " events"));
  EXPECT_THAT(replay.out, HasSubstr(count + " folded, 0 duplicates"));

  Subprocess server({KEHU_BINARY, "serve", "--data", data, "--listen",
                     "127.0.0.1:0", "--fit-interval-hours", "0",
                     "--no-snapshots"});
  ASSERT_THAT(server.ReadStderrUntil("listening on "),
              HasSubstr("listening on"));
  Finished held = Kehu({"produce", dir.Sub("events.ndjson"), "--data", data});
  EXPECT_EQ(held.code, 1);
  EXPECT_THAT(held.err, HasSubstr("kehu produce: --data " + data +
                                  ": cannot open the log"));
  EXPECT_THAT(held.err, HasSubstr("kehu serve"));
}

// A history loaded with `kehu produce --data` crossed months no server saw:
// `kehu snapshots backfill` snapshots each, once, and `list` shows them.
TEST(ReplayCliTest, SnapshotsBackfillCoversTheMonthsOfALoadedHistory) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  Finished sim =
      Kehu({"simulate", "--customers", "60", "--seed", "4", "--days", "75",
            "--start", "2025-01-01", "-o", dir.Sub("events.ndjson")});
  ASSERT_EQ(sim.code, 0) << sim.err;
  Finished produce =
      Kehu({"produce", dir.Sub("events.ndjson"), "--data", data});
  ASSERT_EQ(produce.code, 0) << produce.err;

  Finished none = Kehu({"snapshots", "list", "--data", data});
  EXPECT_EQ(none.code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr("no population snapshots"));

  Finished backfill = Kehu({"snapshots", "backfill", "--data", data});
  ASSERT_EQ(backfill.code, 0) << backfill.err;
  EXPECT_THAT(backfill.out, HasSubstr("2 month boundaries to snapshot, 0 "
                                      "snapshotted already"));
  EXPECT_THAT(backfill.out, HasSubstr("snapshots/2025-02-01: "));
  EXPECT_THAT(backfill.out, HasSubstr("snapshots/2025-03-01: "));

  Finished again = Kehu({"snapshots", "backfill", "--data", data});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("0 month boundaries to snapshot, 2 "
                                   "snapshotted already"));

  Finished list = Kehu({"snapshots", "list", "--data", data});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, MatchesRegex("snapshot +measured.*\n"
                                     "2025-02-01 +2025-02-01 .*\n"
                                     "2025-03-01 +2025-03-01 .*\n"));

  // A running server holds the log: the backfill refuses, naming it.
  Subprocess server({KEHU_BINARY, "serve", "--data", data, "--listen",
                     "127.0.0.1:0", "--fit-interval-hours", "0"});
  ASSERT_THAT(server.ReadStderrUntil("listening on "),
              HasSubstr("listening on"));
  Finished held =
      Kehu({"snapshots", "backfill", "--data", data, "--every", "week"});
  EXPECT_EQ(held.code, 1);
  EXPECT_THAT(held.err, HasSubstr("is open in another process (a running "
                                  "`kehu serve`?)"));
  // Listing works beside it.
  EXPECT_EQ(Kehu({"snapshots", "list", "--data", data}).code, 0);

  // One event dated decades early would ask for thousands of replays:
  // refused, and a range narrows it.
  {
    std::ofstream events(dir.Sub("stray.ndjson"));
    events << R"({"eventId": "s1", "customerId": "C1", "occurredAt": )"
              R"("1975-06-01T00:00:00Z", "customerRegistered": {}})"
           << "\n"
           << R"({"eventId": "s2", "customerId": "C1", "occurredAt": )"
              R"("2025-01-03T12:00:00Z", "customerRegistered": {}})"
           << "\n";
  }
  ASSERT_EQ(
      Kehu({"produce", dir.Sub("stray.ndjson"), "--data", dir.Sub("stray")})
          .code,
      0);
  Finished stray = Kehu(
      {"snapshots", "backfill", "--data", dir.Sub("stray"), "--every", "day"});
  EXPECT_EQ(stray.code, 1);
  EXPECT_THAT(stray.out, HasSubstr("events occurred from 1975-06-01 to "
                                   "2025-01-03: 18114 day boundaries"));
  EXPECT_THAT(stray.err, HasSubstr("kehu snapshots: more than 1000 "
                                   "boundaries at once; choose a range with "
                                   "--from and --to"));
  Finished narrowed = Kehu({"snapshots", "backfill", "--data", dir.Sub("stray"),
                            "--every", "day", "--from", "2025-01-01"});
  EXPECT_EQ(narrowed.code, 0) << narrowed.err;
  EXPECT_THAT(narrowed.out, HasSubstr("3 day boundaries to snapshot"));

  Finished bad_to = Kehu({"snapshots", "backfill", "--data", dir.Sub("none"),
                          "--to", "2025-02-30"});
  EXPECT_EQ(bad_to.code, 1);
  EXPECT_THAT(bad_to.err, HasSubstr("kehu snapshots: --to: expected "
                                    "YYYY-MM-DD, got \"2025-02-30\""));
  Finished reversed = Kehu({"snapshots", "backfill", "--data", dir.Sub("none"),
                            "--from", "2025-03-01", "--to", "2025-02-01"});
  EXPECT_EQ(reversed.code, 1);
  EXPECT_THAT(reversed.err, HasSubstr("kehu snapshots: --from 2025-03-01 is "
                                      "after --to 2025-02-01"));
  Finished no_log = Kehu({"snapshots", "backfill", "--data", dir.Sub("none")});
  EXPECT_EQ(no_log.code, 1);
  EXPECT_THAT(no_log.err, HasSubstr("kehu snapshots: --data " +
                                    dir.Sub("none") + ": no embedded log"));
}

TEST(ReplayCliTest, BadFlagsAndDirectoriesStopWithOneLineNamingThem) {
  TempDir dir;
  std::ofstream(dir.Sub("file")) << "x";

  Finished no_log =
      Kehu({"replay", "--data", dir.Sub("none"), "--into", dir.Sub("new")});
  EXPECT_EQ(no_log.code, 1);
  EXPECT_THAT(no_log.err,
              HasSubstr("kehu replay: --data " + dir.Sub("none") +
                        ": no embedded log in " + dir.Sub("none") + "/log"));

  Finished not_empty =
      Kehu({"replay", "--data", dir.Sub("none"), "--into", dir.path()});
  EXPECT_EQ(not_empty.code, 1);
  EXPECT_THAT(not_empty.err,
              HasSubstr("kehu replay: --into " + dir.path() + ": exists"));

  Finished bad_until = Kehu({"replay", "--data", dir.Sub("none"), "--into",
                             dir.Sub("new"), "--until", "last tuesday"});
  EXPECT_EQ(bad_until.code, 1);
  EXPECT_THAT(bad_until.err, HasSubstr("--until: expected YYYY-MM-DD"));

  Finished bad_fit = Kehu({"replay", "--data", dir.Sub("none"), "--into",
                           dir.Sub("new"), "--fit-as-of", "2026-13-01"});
  EXPECT_EQ(bad_fit.code, 1);
  EXPECT_THAT(bad_fit.err, HasSubstr("--fit-as-of: expected YYYY-MM-DD"));

  Finished no_store = Kehu({"digest", "--data", dir.Sub("none")});
  EXPECT_EQ(no_store.code, 1);
  EXPECT_THAT(no_store.err, HasSubstr("kehu digest: --data " + dir.Sub("none") +
                                      ": no projection store in " +
                                      dir.Sub("none") + "/store"));
  for (const Finished* run :
       {&no_log, &not_empty, &bad_until, &bad_fit, &no_store}) {
    EXPECT_EQ(std::count(run->err.begin(), run->err.end(), '\n'), 1)
        << run->err;
  }
}

}  // namespace
}  // namespace kehu
