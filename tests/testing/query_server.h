// QueryServer: a query service behind a gRPC server on a free loopback
// port, wired as `kehu serve` wires it (infra/call_queues.h), for tests.
#ifndef KEHU_TESTS_TESTING_QUERY_SERVER_H_
#define KEHU_TESTS_TESTING_QUERY_SERVER_H_

#include <memory>

#include "grpcpp/grpcpp.h"
#include "infra/call_queues.h"
#include "kehu/query/v1/query.grpc.pb.h"
#include "query/query_service.h"

namespace kehu::testing {

class QueryServer {
 public:
  // Listens on 127.0.0.1:0 and serves `service`; stops the test process
  // when it cannot. REQUIRES: `service` outlives the QueryServer.
  explicit QueryServer(query::QueryService* service);
  // Shuts the server down, then its queues.
  ~QueryServer();
  QueryServer(const QueryServer&) = delete;
  QueryServer& operator=(const QueryServer&) = delete;

  // A client of the server.
  std::unique_ptr<query::v1::Query::Stub> NewStub() const;

 private:
  int port_ = 0;
  std::unique_ptr<infra::CallQueues> queues_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace kehu::testing

#endif  // KEHU_TESTS_TESTING_QUERY_SERVER_H_
