// The `kehu` binary's security flags as an operator meets them: `serve`
// refuses an unsafe setup with one line, and `query`, `fit` and `produce`
// reach a server that wants tokens and TLS. Servers run in-process on
// loopback port 0; no test listens on any other address.
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/app/server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certificates.h"

namespace kehu {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Subprocess;
using testing::TempDir;

constexpr char kIngestToken[] = "ingest-5f1c9a2b7d3e4f60";
constexpr char kQueryToken[] = "query-8e2d4c6a0b1f3e57";
constexpr char kOpsToken[] = "ops-3a7c1e9d5b2f4a68";

// Runs kehu to its end; returns the exit code and fills `err`.
int RunKehu(const std::vector<std::string>& args, std::string* err) {
  std::vector<std::string> argv = {KEHU_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  Subprocess kehu(argv);
  int code = kehu.Wait();
  *err = kehu.stderr_text();
  return code;
}

int Lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::string WriteTokens(const TempDir& dir) {
  const std::string path = dir.Sub("tokens.txt");
  std::ofstream(path) << "erp ingest " << kIngestToken << "\n"
                      << "dashboard query " << kQueryToken << "\n"
                      << "ops admin " << kOpsToken << "\n";
  return path;
}

std::string WriteTokenFile(const TempDir& dir, const std::string& name,
                           const std::string& token) {
  const std::string path = dir.Sub(name);
  std::ofstream(path) << token << "\n";
  return path;
}

app::ServerOptions TestOptions(const TempDir& dir) {
  app::ServerOptions options;
  options.fit_interval = absl::ZeroDuration();
  options.data_dir = dir.Sub("data");
  options.listen = "127.0.0.1:0";
  options.partitions = 2;
  return options;
}

// `serve` decides before it binds, so 0.0.0.0 is never listened on here.
TEST(SecureCliTest, ServeRefusesANonLoopbackAddressWithoutTlsAndTokens) {
  TempDir dir;
  std::string err;
  EXPECT_EQ(
      RunKehu({"serve", "--data", dir.Sub("data"), "--listen", "0.0.0.0:0"},
              &err),
      1);
  EXPECT_THAT(err, HasSubstr("kehu serve: refusing to listen on non-loopback "
                             "address 0.0.0.0:0"));
  EXPECT_THAT(err, HasSubstr("--insecure"));
  EXPECT_EQ(Lines(err), 1) << err;
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("data")));
}

TEST(SecureCliTest, ServeRefusesTokensWithoutTlsBeyondLoopback) {
  TempDir dir;
  std::string err;
  EXPECT_EQ(RunKehu({"serve", "--data", dir.Sub("data"), "--listen",
                     "0.0.0.0:0", "--tokens", WriteTokens(dir), "--insecure"},
                    &err),
            1);
  EXPECT_THAT(err, HasSubstr("bearer tokens without TLS work only on a "
                             "loopback address"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("data")));
}

TEST(SecureCliTest, ServeRefusesAMalformedTokenFileNamingTheLine) {
  TempDir dir;
  std::ofstream(dir.Sub("tokens.txt"))
      << "# comment\nerp ingest " << kIngestToken << "\nops adm1n " << kOpsToken
      << "\n";
  std::string err;
  EXPECT_EQ(RunKehu({"serve", "--data", dir.Sub("data"), "--listen",
                     "127.0.0.1:0", "--tokens", dir.Sub("tokens.txt")},
                    &err),
            1);
  EXPECT_THAT(err, HasSubstr("kehu serve: " + dir.Sub("tokens.txt") +
                             ":3: unknown scope"));
  EXPECT_THAT(err, Not(HasSubstr(kOpsToken)));
  EXPECT_EQ(Lines(err), 1) << err;
}

TEST(SecureCliTest, ClientsSendTheirTokenFromAFileOrTheEnvironment) {
  // The children inherit the environment: start without a token there.
  unsetenv("KEHU_TOKEN");
  TempDir dir;
  app::ServerOptions options = TestOptions(dir);
  options.security.tokens_file = WriteTokens(dir);
  app::Server server(options);
  ASSERT_OK(server.Start());
  const std::string query_token = WriteTokenFile(dir, "query", kQueryToken);
  const std::string ingest_token = WriteTokenFile(dir, "ingest", kIngestToken);
  const std::string ops_token = WriteTokenFile(dir, "ops", kOpsToken);

  std::string err;
  EXPECT_EQ(RunKehu({"query", "progress", "--server", server.address()}, &err),
            1);
  EXPECT_THAT(err, HasSubstr("kehu query progress: missing bearer token"));

  EXPECT_EQ(RunKehu({"query", "progress", "--server", server.address(),
                     "--token-file", ingest_token},
                    &err),
            1);
  EXPECT_THAT(err, HasSubstr("lacks the scope \"query\""));

  EXPECT_EQ(RunKehu({"query", "progress", "--server", server.address(),
                     "--token-file", query_token},
                    &err),
            0)
      << err;

  EXPECT_EQ(
      RunKehu({"fit", "--server", server.address(), "--token-file", ops_token},
              &err),
      0)
      << err;

  std::ofstream(dir.Sub("events.ndjson"))
      << R"({"eventId":"shop-1","customerId":"C42","occurredAt":)"
      << R"("2025-03-01T09:30:00Z","source":"webshop",)"
      << R"("customerRegistered":{"name":"Ada"}})"
      << "\n";
  EXPECT_EQ(RunKehu({"produce", dir.Sub("events.ndjson"), "--server",
                     server.address(), "--token-file", ingest_token},
                    &err),
            0)
      << err;

  // Without --token-file, KEHU_TOKEN (inherited by the child).
  setenv("KEHU_TOKEN", kQueryToken, 1);
  const int code =
      RunKehu({"query", "progress", "--server", server.address()}, &err);
  unsetenv("KEHU_TOKEN");
  EXPECT_EQ(code, 0) << err;
}

TEST(SecureCliTest, MissingTokenFileStopsTheClientWithOneLine) {
  TempDir dir;
  std::string err;
  EXPECT_EQ(
      RunKehu({"query", "get", "C1", "--token-file", dir.Sub("absent")}, &err),
      1);
  EXPECT_THAT(err, HasSubstr("kehu query: --token-file: cannot read " +
                             dir.Sub("absent")));
  EXPECT_EQ(Lines(err), 1) << err;
}

TEST(SecureCliTest, ClientsSpeakTlsWithTheServersCa) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto certs, testing::MakeTestCertificates(dir.path()));
  app::ServerOptions options = TestOptions(dir);
  options.security.tls_cert_file = certs.server_cert;
  options.security.tls_key_file = certs.server_key;
  options.security.tls_client_ca_file = certs.ca_cert;
  options.security.tokens_file = WriteTokens(dir);
  app::Server server(options);
  ASSERT_OK(server.Start());
  const std::string query_token = WriteTokenFile(dir, "query", kQueryToken);

  std::string err;
  EXPECT_EQ(
      RunKehu({"query", "progress", "--server", server.address(),
               "--token-file", query_token, "--tls-ca", certs.ca_cert,
               "--tls-cert", certs.client_cert, "--tls-key", certs.client_key},
              &err),
      0)
      << err;
  // Without a client certificate the server refuses the connection.
  EXPECT_EQ(RunKehu({"query", "progress", "--server", server.address(),
                     "--token-file", query_token, "--tls-ca", certs.ca_cert,
                     "--timeout", "5"},
                    &err),
            1);
  EXPECT_THAT(
      err, HasSubstr("kehu query progress: cannot reach " + server.address()));
}

}  // namespace
}  // namespace kehu
