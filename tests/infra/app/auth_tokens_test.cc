#include "infra/app/auth_tokens.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace kehu::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIngestToken[] = "ingest-0123456789abcdef";
constexpr char kQueryToken[] = "query-0123456789abcdef";
constexpr char kOpsToken[] = "ops-0123456789abcdef";

std::vector<TokenEntry> ThreeTokens() {
  return {{"erp", {Scope::kIngest}, kIngestToken},
          {"dashboard", {Scope::kQuery}, kQueryToken},
          {"ops", {Scope::kIngest, Scope::kQuery, Scope::kAdmin}, kOpsToken}};
}

std::string Bearer(const std::string& token) { return "Bearer " + token; }

// Expects a one-line parse error that names `where` and does not show
// `secret`.
void ExpectParseError(const std::string& text, const std::string& where,
                      const std::string& what, const std::string& secret) {
  auto tokens = ParseTokens(text, "tokens.txt");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(tokens.status().message());
  EXPECT_THAT(message, HasSubstr(where));
  EXPECT_THAT(message, HasSubstr(what));
  EXPECT_THAT(message, Not(HasSubstr("\n")));
  if (!secret.empty()) {
    EXPECT_THAT(message, Not(HasSubstr(secret)));
  }
}

TEST(TokenFileTest, ParsesNamesScopesAndTokensSkippingCommentsAndBlankLines) {
  ASSERT_OK_AND_ASSIGN(
      auto tokens, ParseTokens("# NAME SCOPES TOKEN\n"
                               "\n"
                               "erp   ingest   ingest-0123456789abcdef\n"
                               "  # indented comment\n"
                               "ops\tadmin,query,ingest\tops-0123456789abcdef"
                               "  \n",
                               "tokens.txt"));
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].name, "erp");
  EXPECT_THAT(tokens[0].scopes, ElementsAre(Scope::kIngest));
  EXPECT_EQ(tokens[0].token, kIngestToken);
  EXPECT_EQ(tokens[1].name, "ops");
  EXPECT_THAT(tokens[1].scopes,
              ElementsAre(Scope::kIngest, Scope::kQuery, Scope::kAdmin));
  EXPECT_EQ(tokens[1].token, kOpsToken);
}

TEST(TokenFileTest, LineWithoutThreeFieldsIsRejectedNamingTheLine) {
  ExpectParseError("# comment\nerp ingest ingest-0123456789abcdef\nops admin\n",
                   "tokens.txt:3:", "expected NAME SCOPES TOKEN", "");
  ExpectParseError("erp ingest ingest-0123456789abcdef extra\n",
                   "tokens.txt:1:", "found 4 fields", "ingest-0123456789");
}

TEST(TokenFileTest, UnknownOrEmptyScopeIsRejected) {
  ExpectParseError("erp ingest,qurey ingest-0123456789abcdef\n",
                   "tokens.txt:1:", "unknown scope", "ingest-0123456789");
  ExpectParseError("erp ingest, ingest-0123456789abcdef\n",
                   "tokens.txt:1:", "unknown scope", "ingest-0123456789");
}

TEST(TokenFileTest, ShortTokenIsRejectedWithoutShowingIt) {
  ExpectParseError("erp ingest s3cret\n",
                   "tokens.txt:1:", "TOKEN is shorter than 16", "s3cret");
}

TEST(TokenFileTest, BadNameIsRejected) {
  ExpectParseError("erp/1 ingest ingest-0123456789abcdef\n",
                   "tokens.txt:1:", "may only hold", "ingest-0123456789");
}

TEST(TokenFileTest, DuplicateNameOrTokenIsRejectedNamingTheEarlierLine) {
  ExpectParseError(
      "erp ingest ingest-0123456789abcdef\n"
      "erp query query-0123456789abcdef\n",
      "tokens.txt:2:", "NAME is already used on line 1", "query-0123456789");
  ExpectParseError(
      "erp ingest ingest-0123456789abcdef\n"
      "dashboard query ingest-0123456789abcdef\n",
      "tokens.txt:2:", "TOKEN is the same as on line 1", "ingest-0123456789");
}

TEST(TokenFileTest, FileWithoutTokensIsRejected) {
  ExpectParseError("# only a comment\n\n", "tokens.txt", "no tokens", "");
}

TEST(TokenFileTest, MissingFileNamesTheFlagAndThePath) {
  testing::TempDir dir;
  auto tokens = LoadTokenFile(dir.Sub("absent.txt"));
  ASSERT_FALSE(tokens.ok());
  EXPECT_THAT(std::string(tokens.status().message()),
              HasSubstr("--tokens: cannot read " + dir.Sub("absent.txt")));
}

TEST(TokenFileTest, LoadsAFile) {
  testing::TempDir dir;
  std::ofstream(dir.Sub("tokens.txt")) << "erp ingest " << kIngestToken << "\n";
  ASSERT_OK_AND_ASSIGN(auto tokens, LoadTokenFile(dir.Sub("tokens.txt")));
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].name, "erp");
}

TEST(TokensEqualTest, OnlyTheSameBytesAreEqual) {
  EXPECT_TRUE(TokensEqual("0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(TokensEqual("0123456789abcdeF", "0123456789abcdef"));
  EXPECT_FALSE(TokensEqual("x123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(TokensEqual("0123456789abcde", "0123456789abcdef"));
  EXPECT_FALSE(TokensEqual("0123456789abcdef0", "0123456789abcdef"));
  // A repetition of the expected token is not the token.
  EXPECT_FALSE(
      TokensEqual("0123456789abcdef0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(TokensEqual("", "0123456789abcdef"));
}

TEST(RequiredAccessTest, EachServiceNeedsItsScopeAndHealthIsOpen) {
  using Kind = MethodAccess::Kind;
  auto access = RequiredAccess("/kehu.ingest.v1.Ingest/Append");
  EXPECT_EQ(access.kind, Kind::kScope);
  EXPECT_EQ(access.scope, Scope::kIngest);
  access = RequiredAccess("/kehu.query.v1.Query/GetCustomer");
  EXPECT_EQ(access.kind, Kind::kScope);
  EXPECT_EQ(access.scope, Scope::kQuery);
  access = RequiredAccess("/kehu.query.v1.Query/Explain");
  EXPECT_EQ(access.kind, Kind::kScope);
  EXPECT_EQ(access.scope, Scope::kQuery);
  access = RequiredAccess("/kehu.admin.v1.Admin/Fit");
  EXPECT_EQ(access.kind, Kind::kScope);
  EXPECT_EQ(access.scope, Scope::kAdmin);
  EXPECT_EQ(RequiredAccess("/grpc.health.v1.Health/Check").kind, Kind::kOpen);
  EXPECT_EQ(RequiredAccess("/grpc.health.v1.Health/Watch").kind, Kind::kOpen);
  EXPECT_EQ(RequiredAccess("/grpc.reflection.v1alpha.ServerReflection/"
                           "ServerReflectionInfo")
                .kind,
            Kind::kAnyToken);
}

TEST(RequiredAccessTest, UnknownMethodsNeedAdmin) {
  for (const char* path :
       {"/kehu.export.v1.Export/Dump", "/kehu.query.v1.Query",
        "/grpc.health.v1.HealthX/Check", "", "/"}) {
    auto access = RequiredAccess(path);
    EXPECT_EQ(access.kind, MethodAccess::Kind::kScope) << path;
    EXPECT_EQ(access.scope, Scope::kAdmin) << path;
  }
}

TEST(TokenAuthenticatorTest, MissingOrUnknownTokenIsUnauthenticated) {
  TokenAuthenticator auth(ThreeTokens());
  absl::Status s = auth.Authorize("/kehu.query.v1.Query/GetProgress", {});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("missing bearer token"));

  const std::string wrong = Bearer("query-0123456789abcdeX");
  s = auth.Authorize("/kehu.query.v1.Query/GetProgress", wrong);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown bearer token"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("abcdeX")));

  // A token without the Bearer scheme is not a bearer token.
  s = auth.Authorize("/kehu.query.v1.Query/GetProgress", kQueryToken);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  s = auth.Authorize("/kehu.query.v1.Query/GetProgress", "Bearer ");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
}

TEST(TokenAuthenticatorTest, TokenWithoutTheScopeIsDeniedNamingTheScope) {
  TokenAuthenticator auth(ThreeTokens());
  const std::string query = Bearer(kQueryToken);
  absl::Status s = auth.Authorize("/kehu.ingest.v1.Ingest/Append", query);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"ingest\""));
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"dashboard\""));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(kQueryToken)));
  s = auth.Authorize("/kehu.admin.v1.Admin/Fit", query);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"admin\""));
  s = auth.Authorize("/kehu.query.v1.Query/GetProgress", Bearer(kIngestToken));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"query\""));
}

TEST(TokenAuthenticatorTest, TokenWithTheScopeIsLetThrough) {
  TokenAuthenticator auth(ThreeTokens());
  EXPECT_OK(
      auth.Authorize("/kehu.ingest.v1.Ingest/Append", Bearer(kIngestToken)));
  EXPECT_OK(
      auth.Authorize("/kehu.query.v1.Query/GetCustomer", Bearer(kQueryToken)));
  EXPECT_OK(auth.Authorize("/kehu.admin.v1.Admin/Fit", Bearer(kOpsToken)));
  EXPECT_OK(
      auth.Authorize("/kehu.ingest.v1.Ingest/AppendStream", Bearer(kOpsToken)));
  // The scheme is case-insensitive.
  EXPECT_OK(auth.Authorize("/kehu.query.v1.Query/GetCustomer",
                           std::string("bearer ") + kQueryToken));
}

TEST(TokenAuthenticatorTest, HealthIsOpenAndReflectionTakesAnyToken) {
  TokenAuthenticator auth(ThreeTokens());
  EXPECT_OK(auth.Authorize("/grpc.health.v1.Health/Check", {}));
  EXPECT_OK(auth.Authorize("/grpc.health.v1.Health/Check", "Bearer nonsense"));
  const char* reflection =
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
  EXPECT_EQ(auth.Authorize(reflection, {}).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_OK(auth.Authorize(reflection, Bearer(kIngestToken)));
}

TEST(TokenAuthenticatorTest, ProcessReadsThePathAndConsumesTheToken) {
  TokenAuthenticator auth(ThreeTokens());
  const std::string path = "/kehu.ingest.v1.Ingest/Append";
  const std::string bearer = Bearer(kIngestToken);
  grpc::AuthMetadataProcessor::InputMetadata metadata = {
      {":path", path}, {"authorization", bearer}, {"user-agent", "test"}};
  grpc::AuthMetadataProcessor::OutputMetadata consumed, response;
  grpc::Status s = auth.Process(metadata, nullptr, &consumed, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(consumed, ElementsAre(std::make_pair(std::string("authorization"),
                                                   bearer)));

  const std::string query_path = "/kehu.query.v1.Query/GetProgress";
  metadata = {{":path", query_path}, {"authorization", bearer}};
  consumed.clear();
  s = auth.Process(metadata, nullptr, &consumed, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  metadata = {{":path", query_path}};
  consumed.clear();
  s = auth.Process(metadata, nullptr, &consumed, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(consumed.empty());
}

}  // namespace
}  // namespace kehu::app
