// Translation of absl::Status into grpc::Status, done once at the edge of
// each gRPC service.
#ifndef KEHU_INFRA_GRPC_STATUS_H_
#define KEHU_INFRA_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace kehu::infra {

// Same code (the two enums share their numbering), same message.
grpc::Status ToGrpcStatus(const absl::Status& s);

// The reverse, for clients: a failed RPC as an absl::Status.
absl::Status FromGrpcStatus(const grpc::Status& s);

}  // namespace kehu::infra

#endif  // KEHU_INFRA_GRPC_STATUS_H_
