#include "tests/testing/query_server.h"

#include "absl/strings/str_cat.h"
#include "infra/check.h"

namespace kehu::testing {

QueryServer::QueryServer(query::QueryService* service) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(service);
  queues_ = std::make_unique<infra::CallQueues>(builder, 1);
  server_ = builder.BuildAndStart();
  KEHU_CHECK(server_ != nullptr && port_ > 0);
  service->Serve(*queues_);
  queues_->Start();
}

QueryServer::~QueryServer() {
  server_->Shutdown();
  queues_.reset();
}

std::unique_ptr<query::v1::Query::Stub> QueryServer::NewStub() const {
  return query::v1::Query::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
}

}  // namespace kehu::testing
