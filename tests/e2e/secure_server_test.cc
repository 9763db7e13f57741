// End to end: the security of a real Server on loopback port 0, through
// real gRPC clients made by the channel factory kehu's commands use —
// bearer tokens and their scopes, TLS with a certificate made at test time
// by the openssl command line, client certificates, message size limits.
#include <fstream>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "infra/app/audit_trail.h"
#include "infra/app/client_channel.h"
#include "infra/app/server.h"
#include "kehu/admin/v1/admin.grpc.pb.h"
#include "kehu/ingest/v1/ingest.grpc.pb.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "tests/projections/event_builders.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_certificates.h"

namespace kehu::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;

constexpr char kIngestToken[] = "ingest-5f1c9a2b7d3e4f60";
constexpr char kQueryToken[] = "query-8e2d4c6a0b1f3e57";
constexpr char kOpsToken[] = "ops-3a7c1e9d5b2f4a68";

ServerOptions TestOptions(const TempDir& dir) {
  ServerOptions options;
  options.fit_interval = absl::ZeroDuration();
  options.data_dir = dir.Sub("data");
  options.listen = "127.0.0.1:0";
  options.partitions = 2;
  return options;
}

// Writes a token file with one token per scope, plus one with all three.
std::string WriteTokens(const TempDir& dir) {
  const std::string path = dir.Sub("tokens.txt");
  std::ofstream(path) << "# NAME SCOPES TOKEN\n"
                      << "erp ingest " << kIngestToken << "\n"
                      << "dashboard query " << kQueryToken << "\n"
                      << "ops ingest,query,admin " << kOpsToken << "\n";
  return path;
}

ClientSecurity WithToken(const std::string& token) {
  ClientSecurity security;
  security.token = token;
  return security;
}

std::string ReadAll(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// Calls of each service over one channel, each with a deadline so that a
// refused connection cannot hang a test.
class Client {
 public:
  Client(const std::string& address, const ClientSecurity& security)
      : channel_(MakeClientChannel(address, security)),
        ingest_(ingest::v1::Ingest::NewStub(channel_)),
        query_(query::v1::Query::NewStub(channel_)),
        admin_(admin::v1::Admin::NewStub(channel_)) {}

  grpc::Status Append(const std::vector<events::v1::Event>& events,
                      ingest::v1::AppendResponse* response = nullptr) {
    ingest::v1::AppendRequest request;
    for (const auto& e : events) *request.add_events() = e;
    ingest::v1::AppendResponse ignored;
    grpc::ClientContext context;
    SetDeadline(&context);
    return ingest_->Append(&context, request,
                           response != nullptr ? response : &ignored);
  }

  grpc::Status Progress(query::v1::GetProgressResponse* response = nullptr) {
    query::v1::GetProgressResponse ignored;
    grpc::ClientContext context;
    SetDeadline(&context);
    return query_->GetProgress(&context, {},
                               response != nullptr ? response : &ignored);
  }

  grpc::Status Fit() {
    admin::v1::FitResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    return admin_->Fit(&context, {}, &response);
  }

  // A unary call with raw protobuf bytes, as tools without kehu's .proto
  // files make it (grpc_health_probe, grpcurl).
  grpc::Status Generic(const std::string& method, const std::string& request,
                       std::string* response) {
    grpc::GenericStub generic(channel_);
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Slice slice(request);
    grpc::ByteBuffer request_buffer(&slice, 1);
    auto call = generic.PrepareUnaryCall(&context, method, request_buffer, &cq);
    call->StartCall();
    grpc::ByteBuffer response_buffer;
    grpc::Status status;
    call->Finish(&response_buffer, &status, nullptr);
    void* tag;
    bool ok;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    response->clear();
    std::vector<grpc::Slice> slices;
    if (status.ok() && response_buffer.Dump(&slices).ok()) {
      for (const auto& s : slices) {
        response->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    return status;
  }

 private:
  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  std::unique_ptr<query::v1::Query::Stub> query_;
  std::unique_ptr<admin::v1::Admin::Stub> admin_;
};

// A server on plaintext loopback with a token file.
class TokenServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options = TestOptions(dir_);
    options.security.tokens_file = WriteTokens(dir_);
    server_ = std::make_unique<Server>(options);
    ASSERT_OK(server_->Start());
  }

  Client ClientWith(const std::string& token) {
    return Client(server_->address(), WithToken(token));
  }

  TempDir dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(TokenServerTest, CallWithoutTokenIsUnauthenticated) {
  Client client = ClientWith("");
  grpc::Status s = client.Progress();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("missing bearer token"));
  EXPECT_EQ(
      client.Append({testing::Registered("e1", "C1", 0, "Ada")}).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(client.Fit().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TokenServerTest, CallWithAWrongTokenIsUnauthenticated) {
  Client client = ClientWith("query-8e2d4c6a0b1f3e58");
  grpc::Status s = client.Progress();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("unknown bearer token"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr("8e2d4c")));
}

TEST_F(TokenServerTest, TokenWithoutTheScopeIsPermissionDenied) {
  Client dashboard = ClientWith(kQueryToken);
  grpc::Status s =
      dashboard.Append({testing::Registered("e1", "C1", 0, "Ada")});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("scope \"ingest\""));
  s = dashboard.Fit();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("scope \"admin\""));

  Client erp = ClientWith(kIngestToken);
  s = erp.Progress();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("scope \"query\""));

  // The refused Append never reached its handler: nothing was appended.
  query::v1::GetProgressResponse progress;
  ASSERT_TRUE(dashboard.Progress(&progress).ok());
  for (const auto& p : progress.partitions()) {
    EXPECT_EQ(p.log_end_offset(), 0) << "partition " << p.partition();
  }
}

TEST_F(TokenServerTest, TokenWithTheScopeWorks) {
  Client erp = ClientWith(kIngestToken);
  ingest::v1::AppendResponse appended;
  grpc::Status s =
      erp.Append({testing::Registered("e1", "C1", 0, "Ada")}, &appended);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(appended.accepted_count(), 1);

  Client dashboard = ClientWith(kQueryToken);
  query::v1::GetProgressResponse progress;
  s = dashboard.Progress(&progress);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int64_t log_end = 0;
  for (const auto& p : progress.partitions()) log_end += p.log_end_offset();
  EXPECT_EQ(log_end, 1);

  s = ClientWith(kOpsToken).Fit();
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// The audit trail names who did it by the token's name, never its secret.
TEST_F(TokenServerTest, AdminActionsAreRecordedWithTheTokenName) {
  ASSERT_TRUE(ClientWith(kOpsToken).Fit().ok());
  auto entries = AuditTrail(dir_.Sub("data")).Newest(10);
  ASSERT_OK(entries.status());
  ASSERT_GE(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].action(), "fit");
  EXPECT_EQ((*entries)[0].caller(), "token ops");
  EXPECT_EQ((*entries)[0].outcome(), "ok");
  EXPECT_EQ(entries->back().action(), "serve-start");
  EXPECT_EQ(entries->back().arguments().at("tokens"), "on");
  std::ifstream file(dir_.Sub("data") + "/audit.ndjson");
  std::string text((std::istreambuf_iterator<char>(file)),
                   std::istreambuf_iterator<char>());
  EXPECT_THAT(text, Not(HasSubstr(kOpsToken)));
}

TEST_F(TokenServerTest, HealthAnswersWithoutToken) {
  std::string response;
  grpc::Status s =
      ClientWith("").Generic("/grpc.health.v1.Health/Check", "", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // HealthCheckResponse{status: SERVING} is field 1 = 1.
  EXPECT_EQ(response, std::string("\x08\x01", 2));
}

TEST_F(TokenServerTest, ReflectionNeedsAnyValidToken) {
  const char* method =
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
  // ServerReflectionRequest with list_services (field 7) = "".
  const std::string list_services("\x3a\x00", 2);
  std::string response;
  EXPECT_EQ(
      ClientWith("").Generic(method, list_services, &response).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status s =
      ClientWith(kIngestToken).Generic(method, list_services, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(response, HasSubstr("kehu.query.v1.Query"));
}

TEST(MessageSizeTest, RequestsAndResponsesAboveTheLimitsAreRefused) {
  TempDir dir;
  ServerOptions options = TestOptions(dir);
  options.max_receive_message_bytes = 4096;
  // Smaller than GetProgress's answer about two partitions.
  options.max_send_message_bytes = 8;
  Server server(options);
  ASSERT_OK(server.Start());
  Client client(server.address(), {});

  std::vector<events::v1::Event> events;
  for (int i = 0; i < 100; ++i) {
    events.push_back(testing::Registered("e" + std::to_string(i),
                                         "C" + std::to_string(i), 0, "Ada"));
  }
  EXPECT_EQ(client.Append(events).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  ingest::v1::AppendResponse appended;
  grpc::Status s = client.Append({events[0]}, &appended);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(appended.accepted_count(), 1);

  EXPECT_EQ(client.Progress().error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

// TLS with a CA, a server certificate for 127.0.0.1 and a client
// certificate, all made by openssl at the start of each test.
class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(certs_, testing::MakeTestCertificates(dir_.path()));
  }

  void StartServer(bool require_client_certificates, bool tokens) {
    ServerOptions options = TestOptions(dir_);
    options.security.tls_cert_file = certs_.server_cert;
    options.security.tls_key_file = certs_.server_key;
    if (require_client_certificates) {
      options.security.tls_client_ca_file = certs_.ca_cert;
    }
    if (tokens) options.security.tokens_file = WriteTokens(dir_);
    server_ = std::make_unique<Server>(options);
    ASSERT_OK(server_->Start());
  }

  // A client that trusts `ca_cert`, with a client certificate when given.
  Client TlsClient(const std::string& ca_cert, const std::string& cert = "",
                   const std::string& key = "", const std::string& token = "") {
    ClientSecurity security;
    security.token = token;
    security.tls_ca_pem = ReadAll(ca_cert);
    if (!cert.empty()) {
      security.tls_cert_pem = ReadAll(cert);
      security.tls_key_pem = ReadAll(key);
    }
    return Client(server_->address(), security);
  }

  TempDir dir_;
  testing::TestCertificates certs_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsServerTest, ClientVerifiesTheServerAgainstTheCa) {
  StartServer(/*require_client_certificates=*/false, /*tokens=*/false);
  grpc::Status s = TlsClient(certs_.ca_cert).Progress();
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TlsServerTest, ClientTrustingAnotherCaCannotConnect) {
  StartServer(/*require_client_certificates=*/false, /*tokens=*/false);
  EXPECT_EQ(TlsClient(certs_.other_ca_cert).Progress().error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, PlaintextClientCannotCallATlsServer) {
  StartServer(/*require_client_certificates=*/false, /*tokens=*/false);
  EXPECT_EQ(Client(server_->address(), {}).Progress().error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, TokensAreCheckedOverTls) {
  StartServer(/*require_client_certificates=*/false, /*tokens=*/true);
  EXPECT_EQ(TlsClient(certs_.ca_cert).Progress().error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(
      TlsClient(certs_.ca_cert, "", "", kIngestToken).Progress().error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status s = TlsClient(certs_.ca_cert, "", "", kQueryToken).Progress();
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::string response;
  s = TlsClient(certs_.ca_cert)
          .Generic("/grpc.health.v1.Health/Check", "", &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TlsServerTest, ClientCaRequiresAClientCertificateItSigned) {
  StartServer(/*require_client_certificates=*/true, /*tokens=*/false);
  EXPECT_NE(TlsClient(certs_.ca_cert).Progress().error_code(),
            grpc::StatusCode::OK);
  EXPECT_NE(TlsClient(certs_.ca_cert, certs_.other_client_cert,
                      certs_.other_client_key)
                .Progress()
                .error_code(),
            grpc::StatusCode::OK);
  grpc::Status s =
      TlsClient(certs_.ca_cert, certs_.client_cert, certs_.client_key)
          .Progress();
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace kehu::app
