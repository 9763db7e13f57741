// The `kehu` binary as an operator meets it: bad input stops it with one
// clear line and a non-zero exit, never a stack trace or a hang.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kehu {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Subprocess;
using testing::TempDir;

// Runs kehu to its end; returns the exit code and fills `err`.
int RunKehu(const std::vector<std::string>& args, std::string* err) {
  std::vector<std::string> argv = {KEHU_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  Subprocess kehu(argv);
  int code = kehu.Wait();
  *err = kehu.stderr_text();
  return code;
}

TEST(CliTest, BadFlagStopsWithOneClearMessage) {
  std::string err;
  EXPECT_NE(RunKehu({"serve", "--bogus"}, &err), 0);
  EXPECT_THAT(err, HasSubstr("--bogus"));
  EXPECT_THAT(err, Not(HasSubstr("terminate")));
}

TEST(CliTest, UnwritableDataDirectoryStopsWithOneClearMessage) {
  TempDir dir;
  std::ofstream(dir.Sub("file")) << "not a directory";
  std::string err;
  EXPECT_EQ(RunKehu({"serve", "--data", dir.Sub("file/data"), "--listen",
                     "127.0.0.1:0"},
                    &err),
            1);
  EXPECT_THAT(err, HasSubstr("kehu serve: cannot create data directory"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(CliTest, PortInUseStopsWithOneClearMessage) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string listen_at =
      "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  TempDir dir;
  std::string err;
  EXPECT_EQ(RunKehu({"serve", "--data", dir.Sub("data"), "--listen", listen_at},
                    &err),
            1);
  EXPECT_THAT(err, HasSubstr("kehu serve: cannot listen on " + listen_at));
  close(fd);
}

TEST(CliTest, SigtermStopsTheServerCleanly) {
  TempDir dir;
  Subprocess kehu({KEHU_BINARY, "serve", "--data", dir.Sub("data"), "--listen",
                   "127.0.0.1:0"});
  EXPECT_THAT(kehu.ReadStderrUntil("listening on"), HasSubstr("127.0.0.1:"));
  kehu.Signal(SIGTERM);
  EXPECT_EQ(kehu.Wait(), 0) << kehu.stderr_text();
  EXPECT_THAT(kehu.stderr_text(), HasSubstr("stopped cleanly"));
}

TEST(CliTest, QueryAgainstNoServerSaysWhichAddressItCouldNotReach) {
  std::string err;
  // Flags of `query` may follow its subcommand.
  EXPECT_EQ(RunKehu({"query", "get", "C1", "--server", "127.0.0.1:1",
                     "--timeout", "2"},
                    &err),
            1);
  EXPECT_THAT(err, HasSubstr("cannot reach 127.0.0.1:1"));
}

}  // namespace
}  // namespace kehu
