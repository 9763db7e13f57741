// `kehu admin` as an operator runs it against a real `kehu serve`: rebuild
// a standby while serving, see both stores, switch, switch back, drop the
// standby, read the audit trail — and the rebuilt store holds what the
// served one does (`kehu digest --store`).
#include <signal.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kehu {
namespace {

using ::testing::HasSubstr;
using testing::Finished;
using testing::RunToEnd;
using testing::Subprocess;
using testing::TempDir;

Finished Kehu(std::vector<std::string> args) {
  args.insert(args.begin(), KEHU_BINARY);
  return RunToEnd(args);
}

// History loaded before the server started has no snapshots;
// `kehu admin backfill-snapshots` makes them while it serves.
TEST(AdminCliTest, BackfillSnapshotsWhileServing) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  Finished sim =
      Kehu({"simulate", "--customers", "60", "--seed", "4", "--days", "75",
            "--start", "2025-01-01", "-o", dir.Sub("events.ndjson")});
  ASSERT_EQ(sim.code, 0) << sim.err;
  ASSERT_EQ(Kehu({"produce", dir.Sub("events.ndjson"), "--data", data}).code,
            0);
  {
    // Before any snapshot, the first look counts from the log's first
    // events.
    Subprocess first({KEHU_BINARY, "serve", "--data", data, "--listen",
                      "127.0.0.1:0", "--fit-interval-hours", "0"});
    EXPECT_THAT(first.ReadStderrUntil("makes them"),
                ::testing::ContainsRegex(
                    "kehu serve: 2 month boundaries since the log's first "
                    "events \\(2025-01-0[1-9]\\) have none: 2025-02-01 to "
                    "2025-03-01; `kehu admin backfill-snapshots` makes them"));
    first.Signal(SIGTERM);
    EXPECT_EQ(first.Wait(), 0) << first.stderr_text();
  }
  // February offline, before the server starts again.
  Finished offline =
      Kehu({"snapshots", "backfill", "--data", data, "--to", "2025-02-01"});
  ASSERT_EQ(offline.code, 0) << offline.err;
  Subprocess server({KEHU_BINARY, "serve", "--data", data, "--listen",
                     "127.0.0.1:0", "--fit-interval-hours", "0"});
  const std::string line = server.ReadStderrUntil("listening on ");
  ASSERT_THAT(line, HasSubstr("127.0.0.1:")) << server.stderr_text();
  const size_t begin = line.find("listening on ") + 13;
  const std::string address = line.substr(begin, line.find(',', begin) - begin);
  // The schedule's first look says what is missing, and how to make it.
  EXPECT_THAT(server.ReadStderrUntil("makes them"),
              HasSubstr("kehu serve: 1 month boundaries since the last "
                        "snapshot (2025-02-01) have none: 2025-03-01; `kehu "
                        "admin backfill-snapshots` makes them"));

  Finished backfill =
      Kehu({"admin", "backfill-snapshots", "--server", address});
  ASSERT_EQ(backfill.code, 0) << backfill.err;
  EXPECT_THAT(backfill.out,
              ::testing::MatchesRegex("snapshots/2025-03-01: .*; 0 to go\n"));
  Finished again = Kehu({"admin", "backfill-snapshots", "--server", address});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, "every boundary in range has a snapshot\n");
  Finished listed = Kehu({"admin", "snapshots", "--server", address});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out,
              ::testing::MatchesRegex("snapshot +measured.*\n"
                                      "2025-02-01 +2025-02-01 .*\n"
                                      "2025-03-01 +2025-03-01 .*\n"));
  Finished json = Kehu({"snapshots", "list", "--json", "--data", data});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"name\": \"2025-03-01\""));

  Finished bad = Kehu(
      {"admin", "backfill-snapshots", "--from", "March", "--server", address});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("kehu admin backfill-snapshots: --from: "
                                 "expected YYYY-MM-DD, got \"March\""));
}

TEST(AdminCliTest, RebuildSwitchAndAuditFromTheCommandLine) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  // No fit and no snapshot: the rebuilt store must equal the served one
  // row for row.
  Subprocess server({KEHU_BINARY, "serve", "--data", data, "--listen",
                     "127.0.0.1:0", "--partitions", "4", "--fit-interval-hours",
                     "0", "--no-snapshots"});
  const std::string line = server.ReadStderrUntil("listening on ");
  ASSERT_THAT(line, HasSubstr("127.0.0.1:")) << server.stderr_text();
  const size_t begin = line.find("listening on ") + 13;
  const std::string address = line.substr(begin, line.find(',', begin) - begin);

  Finished sim = Kehu({"simulate", "--customers", "200", "--seed", "4", "-o",
                       dir.Sub("events.ndjson")});
  ASSERT_EQ(sim.code, 0) << sim.err;
  ASSERT_EQ(Kehu({"produce", dir.Sub("events.ndjson"), "--server", address})
                .code,
            0);
  ASSERT_EQ(Kehu({"query", "progress", "--wait", "--timeout", "120",
                  "--server", address})
                .code,
            0);

  Finished rebuild = Kehu({"admin", "rebuild", "--wait", "--server", address});
  ASSERT_EQ(rebuild.code, 0) << rebuild.err;
  EXPECT_THAT(rebuild.out, HasSubstr("store-2    standby  following"));
  // Not a terminal: plain progress lines.
  EXPECT_THAT(rebuild.err, ::testing::Not(HasSubstr("\r")));

  Finished stores = Kehu({"admin", "stores", "--json", "--server", address});
  ASSERT_EQ(stores.code, 0) << stores.err;
  EXPECT_THAT(stores.out, HasSubstr("\"name\": \"store-2\""));
  EXPECT_THAT(stores.out, HasSubstr("\"role\": \"STANDBY\""));

  Finished again = Kehu({"admin", "rebuild", "--server", address});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("kehu admin rebuild: store store-2 is the "
                                   "standby already"));

  Finished switched = Kehu({"admin", "switch", "--server", address});
  ASSERT_EQ(switched.code, 0) << switched.err;
  EXPECT_THAT(switched.out, HasSubstr("active store-2, standby store"));

  // Both stores folded the same log the same way.
  Finished served = Kehu({"digest", "--data", data, "--store", "store"});
  Finished rebuilt = Kehu({"digest", "--data", data});  // the active one
  ASSERT_EQ(served.code, 0) << served.err;
  ASSERT_EQ(rebuilt.code, 0) << rebuilt.err;
  EXPECT_EQ(served.out, rebuilt.out);

  ASSERT_EQ(Kehu({"admin", "switch", "--server", address}).code, 0);
  Finished dropped = Kehu({"admin", "drop-standby", "--server", address});
  ASSERT_EQ(dropped.code, 0) << dropped.err;
  EXPECT_THAT(dropped.out, HasSubstr("dropped store-2"));

  Finished audit = Kehu({"admin", "audit", "-n", "6", "--server", address});
  ASSERT_EQ(audit.code, 0) << audit.err;
  EXPECT_THAT(audit.out,
              ::testing::MatchesRegex(
                  "[-0-9 :]+ drop-standby +peer [^ ]+ +ok\n(.|\n)*"
                  "switch(.|\n)*switch(.|\n)*rebuild +peer [^ ]+ +store "
                  "store-2 is the standby already(.|\n)*rebuild-finished"
                  "(.|\n)*"));
}

}  // namespace
}  // namespace kehu
