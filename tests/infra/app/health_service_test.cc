#include "infra/app/health_service.h"

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace kehu::app {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// A HealthService on a real gRPC server (loopback, port 0), wired as
// `kehu serve` wires it, and a client of it.
class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&health_);
    queues_ = std::make_unique<infra::CallQueues>(builder, 1);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    health_.Serve(*queues_);
    queues_->Start();
    stub_ = Health::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    server_->Shutdown();
    queues_.reset();
  }

  grpc::Status Check(const std::string& service,
                     HealthCheckResponse* response) {
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service(service);
    return stub_->Check(&context, request, response);
  }

  HealthService health_{{"kehu.query.v1.Query"}};
  std::unique_ptr<infra::CallQueues> queues_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

// A stopping server says so to Check, and ends every Watch stream itself:
// the server is still up here, so only SetNotServing() can end it.
TEST_F(HealthServiceTest, SetNotServingEndsWatchesAndChecksSayNotServing) {
  grpc::ClientContext context;
  // Only so that a stream SetNotServing() fails to end cannot hang the test.
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  auto watch = stub_->Watch(&context, HealthCheckRequest());
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  health_.SetNotServing();
  EXPECT_FALSE(watch->Read(&response));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::CANCELLED);

  for (const char* service : {"", "kehu.query.v1.Query"}) {
    ASSERT_TRUE(Check(service, &response).ok()) << service;
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING) << service;
  }
  EXPECT_EQ(Check("kehu.ingest.v1.Ingest", &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace kehu::app
