#include "infra/app/health_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace kehu::app {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream: its status written once, then held open until gRPC
// reports the call done (the caller left, or the server shut down). Its
// address is the tag of the call's arrival and of the write;
// AsyncNotifyWhenDone() reports to `done_tag_`.
class HealthService::WatchCall final : public infra::CallTag {
 public:
  // Asks for the next Watch call on `queue`.
  static void Await(HealthService* service, infra::CallQueues& queues,
                    grpc::ServerCompletionQueue* queue) {
    auto* call = new WatchCall(service, queues, queue);
    const bool requested = queues.StartOp([&] {
      call->context_.AsyncNotifyWhenDone(&call->done_tag_);
      service->RequestWatch(&call->context_, &call->request_, &call->writer_,
                            queue, queue, call);
    });
    if (!requested) delete call;
  }

  void Proceed(bool ok) override {
    if (!arrived_) {
      // gRPC reports a call done only once it has arrived.
      if (!ok) {
        delete this;
        return;
      }
      arrived_ = true;
      Await(service_, queues_, queue_);
      {
        absl::MutexLock lock(&service_->mu_);
        service_->watches_.insert(this);
      }
      response_.set_status(service_->StatusOf(request_.service()));
      writing_ = queues_.StartOp([&] { writer_.Write(response_, this); });
      return;
    }
    writing_ = false;  // The write went out, or the stream has ended.
    DeleteWhenDone();
  }

 private:
  class Done final : public infra::CallTag {
   public:
    explicit Done(WatchCall* call) : call_(call) {}
    void Proceed(bool /*ok*/) override {
      call_->done_ = true;
      call_->DeleteWhenDone();
    }

   private:
    WatchCall* const call_;
  };

  WatchCall(HealthService* service, infra::CallQueues& queues,
            grpc::ServerCompletionQueue* queue)
      : service_(service), queues_(queues), queue_(queue) {}

  // Every event of a call comes to its queue's one thread.
  void DeleteWhenDone() {
    if (!done_ || writing_) return;
    {
      absl::MutexLock lock(&service_->mu_);
      service_->watches_.erase(this);
    }
    delete this;
  }

  friend class HealthService;  // SetNotServing() cancels context_.

  HealthService* const service_;
  infra::CallQueues& queues_;
  grpc::ServerCompletionQueue* const queue_;
  grpc::ServerContext context_;
  HealthCheckRequest request_;
  HealthCheckResponse response_;
  grpc::ServerAsyncWriter<HealthCheckResponse> writer_{&context_};
  Done done_tag_{this};
  bool arrived_ = false;
  bool writing_ = false;
  bool done_ = false;
};

HealthService::HealthService(std::vector<std::string> services)
    : services_(std::move(services)) {
  check_.request =
      [this](grpc::ServerContext* context, HealthCheckRequest* request,
             grpc::ServerAsyncResponseWriter<HealthCheckResponse>* writer,
             grpc::ServerCompletionQueue* queue, void* tag) {
        RequestCheck(context, request, writer, queue, queue, tag);
      };
  check_.handler = [this](CheckCall& call) {
    const HealthCheckResponse::ServingStatus status =
        StatusOf(call.request().service());
    if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
      return call.Finish(
          grpc::Status(grpc::StatusCode::NOT_FOUND,
                       absl::StrCat("service: no service \"",
                                    call.request().service(), "\" here")));
    }
    call.response()->set_status(status);
    call.Finish(grpc::Status::OK);
  };
}

void HealthService::Serve(infra::CallQueues& queues) {
  for (const auto& queue : queues.queues()) {
    CheckCall::Await(queues, queue.get(), check_);
    WatchCall::Await(this, queues, queue.get());
  }
}

void HealthService::SetNotServing() {
  serving_ = false;
  absl::MutexLock lock(&mu_);
  for (WatchCall* watch : watches_) watch->context_.TryCancel();
}

HealthCheckResponse::ServingStatus HealthService::StatusOf(
    const std::string& service) const {
  if (!service.empty() && std::find(services_.begin(), services_.end(),
                                    service) == services_.end()) {
    return HealthCheckResponse::SERVICE_UNKNOWN;
  }
  return serving_ ? HealthCheckResponse::SERVING
                  : HealthCheckResponse::NOT_SERVING;
}

}  // namespace kehu::app
