#include "infra/app/client_channel.h"

#include <stdlib.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Sets KEHU_TOKEN for one test and restores the environment after it.
class ClientSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* token = getenv("KEHU_TOKEN");
    if (token != nullptr) saved_token_ = token;
    unsetenv("KEHU_TOKEN");
  }
  void TearDown() override {
    if (saved_token_.has_value()) {
      setenv("KEHU_TOKEN", saved_token_->c_str(), 1);
    } else {
      unsetenv("KEHU_TOKEN");
    }
  }

  testing::TempDir dir_;

 private:
  std::optional<std::string> saved_token_;
};

TEST_F(ClientSecurityTest, NoFlagsMeanPlaintextWithoutToken) {
  ASSERT_OK_AND_ASSIGN(ClientSecurity security, LoadClientSecurity({}));
  EXPECT_EQ(security.token, "");
  EXPECT_EQ(security.tls_ca_pem, "");
}

TEST_F(ClientSecurityTest, TokenFileIsReadWithoutSurroundingWhitespace) {
  std::ofstream(dir_.Sub("token")) << "  ingest-0123456789abcdef\n";
  ClientSecurityOptions options;
  options.token_file = dir_.Sub("token");
  ASSERT_OK_AND_ASSIGN(ClientSecurity security, LoadClientSecurity(options));
  EXPECT_EQ(security.token, "ingest-0123456789abcdef");
}

TEST_F(ClientSecurityTest, TokenComesFromTheEnvironmentWithoutAFile) {
  setenv("KEHU_TOKEN", "env-0123456789abcdef", 1);
  ASSERT_OK_AND_ASSIGN(ClientSecurity security, LoadClientSecurity({}));
  EXPECT_EQ(security.token, "env-0123456789abcdef");

  // The flag wins over the variable.
  std::ofstream(dir_.Sub("token")) << "file-0123456789abcdef\n";
  ClientSecurityOptions options;
  options.token_file = dir_.Sub("token");
  ASSERT_OK_AND_ASSIGN(security, LoadClientSecurity(options));
  EXPECT_EQ(security.token, "file-0123456789abcdef");
}

TEST_F(ClientSecurityTest, BadTokenFilesAreNamedWithoutShowingTheToken) {
  ClientSecurityOptions options;
  options.token_file = dir_.Sub("absent");
  auto security = LoadClientSecurity(options);
  ASSERT_FALSE(security.ok());
  EXPECT_THAT(std::string(security.status().message()),
              HasSubstr("--token-file: cannot read " + dir_.Sub("absent")));

  std::ofstream(dir_.Sub("empty")) << "\n";
  options.token_file = dir_.Sub("empty");
  security = LoadClientSecurity(options);
  ASSERT_FALSE(security.ok());
  EXPECT_THAT(std::string(security.status().message()), HasSubstr("is empty"));

  std::ofstream(dir_.Sub("two")) << "erp ingest secret-0123456789abcdef\n";
  options.token_file = dir_.Sub("two");
  security = LoadClientSecurity(options);
  ASSERT_FALSE(security.ok());
  EXPECT_THAT(std::string(security.status().message()),
              HasSubstr("must hold just the token"));
  EXPECT_THAT(std::string(security.status().message()),
              Not(HasSubstr("secret-")));
}

TEST_F(ClientSecurityTest, TlsFlagsAreChecked) {
  ClientSecurityOptions options;
  options.tls_cert_file = dir_.Sub("client.pem");
  auto security = LoadClientSecurity(options);
  ASSERT_FALSE(security.ok());
  EXPECT_THAT(std::string(security.status().message()),
              HasSubstr("--tls-cert and --tls-key go together"));

  options.tls_key_file = dir_.Sub("client.key");
  security = LoadClientSecurity(options);
  ASSERT_FALSE(security.ok());
  EXPECT_THAT(std::string(security.status().message()),
              HasSubstr("--tls-cert needs --tls-ca"));

  std::ofstream(dir_.Sub("ca.pem")) << "not a certificate\n";
  options = {};
  options.tls_ca_file = dir_.Sub("ca.pem");
  security = LoadClientSecurity(options);
  ASSERT_FALSE(security.ok());
  EXPECT_THAT(std::string(security.status().message()),
              HasSubstr("--tls-ca: " + dir_.Sub("ca.pem") +
                        " holds no PEM certificate"));
}

}  // namespace
}  // namespace kehu::app
