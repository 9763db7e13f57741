// HealthService: grpc.health.v1.Health, the standard health checking
// protocol, for load balancers, Kubernetes probes and grpc_health_probe.
//
// Operation: Check answers SERVING for "" (the server) and for each
// service the server was given, NOT_SERVING for all of them once
// SetNotServing() was called (the server is stopping), and NOT_FOUND for
// any other name. Watch sends the same status (SERVICE_UNKNOWN for an
// unknown name) and then keeps the stream open until the caller leaves;
// kehu's status changes only as it stops, and SetNotServing() then ends
// every open stream (the caller sees CANCELLED), so that no watcher holds
// up the server's shutdown. Both are answered on the server's call queues
// (infra/call_queues.h), like the queries.
//
// Why not gRPC's own (grpc::EnableDefaultHealthCheckService): it is built
// on gRPC's callback API, whose two polling threads would then take part
// in reading every query off its connection (call_queues.h).
//
// Concurrency: SetNotServing() from any thread.
#ifndef KEHU_INFRA_APP_HEALTH_SERVICE_H_
#define KEHU_INFRA_APP_HEALTH_SERVICE_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "infra/call_queues.h"

namespace kehu::app {

class HealthService final : public grpc::health::v1::Health::AsyncService {
 public:
  // `services`: the full names of the server's services.
  explicit HealthService(std::vector<std::string> services);

  // Starts answering from `queues`; as QueryService::Serve().
  void Serve(infra::CallQueues& queues);

  // From now on every status is NOT_SERVING; ends the open Watch streams.
  void SetNotServing();

  // The status of `service` now; SERVICE_UNKNOWN for a name not served.
  grpc::health::v1::HealthCheckResponse::ServingStatus StatusOf(
      const std::string& service) const;

 private:
  class WatchCall;
  using CheckCall = infra::UnaryCall<grpc::health::v1::HealthCheckRequest,
                                     grpc::health::v1::HealthCheckResponse>;

  const std::vector<std::string> services_;
  std::atomic<bool> serving_{true};
  absl::Mutex mu_;
  absl::flat_hash_set<WatchCall*> watches_ ABSL_GUARDED_BY(mu_);
  CheckCall::Method check_;
};

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_HEALTH_SERVICE_H_
