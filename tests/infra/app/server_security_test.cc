#include "infra/app/server_security.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infra/app/server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ServerSecurityOptions TlsAndTokens() {
  ServerSecurityOptions security;
  security.tls_cert_file = "server.pem";
  security.tls_key_file = "server.key";
  security.tokens_file = "tokens.txt";
  return security;
}

TEST(LoopbackTest, LoopbackHostsAreRecognized) {
  for (const char* listen : {"127.0.0.1:50051", "127.0.0.1:0", "127.1.2.3:7",
                             "[::1]:50051", "localhost:50051", "LocalHost:1",
                             "[::ffff:127.0.0.1]:1", "127.0.0.1", "::1"}) {
    EXPECT_TRUE(IsLoopbackAddress(listen)) << listen;
  }
}

TEST(LoopbackTest, EverythingElseIsNotLoopback) {
  for (const char* listen :
       {"0.0.0.0:50051", "[::]:50051", ":50051", "10.0.0.1:50051",
        "192.168.1.20:50051", "128.0.0.1:1", "126.255.255.255:1", "[::2]:1",
        "[::ffff:10.0.0.1]:1", "example.com:50051", "localhost.example.com:1",
        "unix:/tmp/kehu.sock", "", "[::1"}) {
    EXPECT_FALSE(IsLoopbackAddress(listen)) << listen;
  }
}

TEST(ListenSecurityTest, LoopbackNeedsNothing) {
  EXPECT_OK(CheckListenSecurity("127.0.0.1:50051", {}));
  EXPECT_OK(CheckListenSecurity("[::1]:50051", {}));
  ServerSecurityOptions tokens_only;
  tokens_only.tokens_file = "tokens.txt";
  EXPECT_OK(CheckListenSecurity("localhost:50051", tokens_only));
}

TEST(ListenSecurityTest, NonLoopbackWithoutTlsAndTokensIsRefused) {
  absl::Status s = CheckListenSecurity("0.0.0.0:50051", {});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(s.message());
  EXPECT_THAT(message, HasSubstr("refusing to listen on non-loopback address "
                                 "0.0.0.0:50051"));
  EXPECT_THAT(message, HasSubstr("--tls-cert, --tls-key, --tokens"));
  EXPECT_THAT(message, HasSubstr("--insecure"));
  EXPECT_THAT(message, Not(HasSubstr("\n")));

  // TLS alone is not enough: the message names only what is missing.
  ServerSecurityOptions tls_only = TlsAndTokens();
  tls_only.tokens_file.clear();
  s = CheckListenSecurity("10.1.2.3:50051", tls_only);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("give --tokens, or"));
}

TEST(ListenSecurityTest, NonLoopbackWithTlsAndTokensIsAllowed) {
  EXPECT_OK(CheckListenSecurity("0.0.0.0:50051", TlsAndTokens()));
  EXPECT_OK(CheckListenSecurity("[::]:50051", TlsAndTokens()));
}

TEST(ListenSecurityTest, InsecureAllowsNonLoopbackWithAWarning) {
  ServerSecurityOptions insecure;
  insecure.insecure = true;
  EXPECT_OK(CheckListenSecurity("0.0.0.0:50051", insecure));
  EXPECT_THAT(InsecureListenWarning("0.0.0.0:50051", insecure),
              HasSubstr("WARNING: --insecure: listening on 0.0.0.0:50051 "
                        "without TLS and without tokens"));

  ServerSecurityOptions tls_only = TlsAndTokens();
  tls_only.tokens_file.clear();
  tls_only.insecure = true;
  EXPECT_OK(CheckListenSecurity("0.0.0.0:50051", tls_only));
  EXPECT_THAT(InsecureListenWarning("0.0.0.0:50051", tls_only),
              HasSubstr("without tokens"));
}

TEST(ListenSecurityTest, NoWarningWithoutReason) {
  ServerSecurityOptions insecure;
  insecure.insecure = true;
  EXPECT_EQ(InsecureListenWarning("127.0.0.1:50051", insecure), "");
  EXPECT_EQ(InsecureListenWarning("0.0.0.0:50051", {}), "");
  ServerSecurityOptions all = TlsAndTokens();
  all.insecure = true;
  EXPECT_EQ(InsecureListenWarning("0.0.0.0:50051", all), "");
}

TEST(ListenSecurityTest, TokensWithoutTlsAreRefusedBeyondLoopbackEvenInsecure) {
  ServerSecurityOptions tokens_only;
  tokens_only.tokens_file = "tokens.txt";
  tokens_only.insecure = true;
  absl::Status s = CheckListenSecurity("0.0.0.0:50051", tokens_only);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("bearer tokens without TLS work only on a loopback"));
}

TEST(ListenSecurityTest, FlagsThatGoTogetherAreChecked) {
  ServerSecurityOptions cert_only;
  cert_only.tls_cert_file = "server.pem";
  absl::Status s = CheckListenSecurity("127.0.0.1:0", cert_only);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("--tls-cert and --tls-key"));

  ServerSecurityOptions ca_only;
  ca_only.tls_client_ca_file = "ca.pem";
  s = CheckListenSecurity("127.0.0.1:0", ca_only);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("--tls-client-ca needs"));
}

TEST(ServerCredentialsTest, UnreadableOrWrongFilesAreNamed) {
  testing::TempDir dir;
  ServerSecurityOptions security;
  security.tls_cert_file = dir.Sub("absent.pem");
  security.tls_key_file = dir.Sub("absent.key");
  auto credentials = MakeServerCredentials(security);
  ASSERT_FALSE(credentials.ok());
  EXPECT_THAT(std::string(credentials.status().message()),
              HasSubstr("--tls-cert: cannot read " + dir.Sub("absent.pem")));

  std::ofstream(dir.Sub("not-a-cert.pem")) << "hello\n";
  security.tls_cert_file = dir.Sub("not-a-cert.pem");
  credentials = MakeServerCredentials(security);
  ASSERT_FALSE(credentials.ok());
  EXPECT_THAT(std::string(credentials.status().message()),
              HasSubstr("--tls-cert: " + dir.Sub("not-a-cert.pem") +
                        " holds no PEM certificate"));

  std::ofstream(dir.Sub("tokens.txt")) << "erp ingest\n";
  security = {};
  security.tokens_file = dir.Sub("tokens.txt");
  credentials = MakeServerCredentials(security);
  ASSERT_FALSE(credentials.ok());
  EXPECT_THAT(std::string(credentials.status().message()),
              HasSubstr(dir.Sub("tokens.txt") + ":1: expected NAME SCOPES"));
}

// Start() refuses before it creates, opens or binds anything, so this test
// never listens on a non-loopback address.
TEST(ServerSecurityTest, StartRefusesANonLoopbackAddressBeforeBinding) {
  testing::TempDir dir;
  ServerOptions options;
  options.data_dir = dir.Sub("data");
  options.listen = "0.0.0.0:0";
  options.fit_interval = absl::ZeroDuration();
  Server server(options);
  absl::Status s = server.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("refusing to listen"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("data")));
}

TEST(ServerSecurityTest, StartRefusesAMalformedTokenFileBeforeOpening) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("tokens.txt"))
      << "erp ingest ingest-0123456789abcdef\nbad line\n";
  ServerOptions options;
  options.data_dir = dir.Sub("data");
  options.listen = "127.0.0.1:0";
  options.fit_interval = absl::ZeroDuration();
  options.security.tokens_file = dir.Sub("tokens.txt");
  Server server(options);
  absl::Status s = server.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tokens.txt:2:"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("data")));
}

}  // namespace
}  // namespace kehu::app
