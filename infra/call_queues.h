// CallQueues: the completion queues, one thread each, that answer the
// asynchronous methods of a grpc::Server (the query service and the health
// service of `kehu serve`), and UnaryCall, one call of such a method.
//
// Why not gRPC's callback API: in the gRPC of Debian 12 (1.51) a server
// with any callback method polls its connections from two more threads of
// gRPC's own, and each poller that wakes hands the call to another. On a
// 2-core machine a trivial unary method then cost 68 µs of server CPU per
// call at 10,000 calls/s instead of 46 µs with one completion-queue
// thread as the only poller (README, Query latency). Here the thread that
// reads a call from its connection is the one that answers it.
//
// Operation: CallQueues(builder, n) adds n queues to the builder before
// BuildAndStart(); Start() after it starts one thread per queue, which
// takes each event off its queue and calls Proceed() on the tag (a
// CallTag). Calls are asked for and answered through StartOp(), which
// refuses once the queues are closing, so that nothing is started on a
// shut-down queue.
// The destructor shuts the queues down and joins the threads.
//
// UnaryCall<Request, Response>::Await() asks for one call of a method on a
// queue. When it arrives, the next one is asked for, and the method's
// handler runs on the queue's thread with the call. The handler answers
// with Finish(), there or later from any thread (a worker); the call
// deletes itself when gRPC is done with it.
//
// Concurrency: StartOp() from any thread. A call's events all come to the
// queue it was requested on, so to one thread.
//
// REQUIRES: the server's Shutdown() has returned before CallQueues is
// destroyed, and the grpc::Server itself is destroyed only after it (the
// calls still on the queues refer to it). The services it answers for
// outlive it; the calls they hand to workers then finish to no one.
#ifndef KEHU_INFRA_CALL_QUEUES_H_
#define KEHU_INFRA_CALL_QUEUES_H_

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/server_builder.h"

namespace kehu::infra {

// What a completion-queue tag points to.
class CallTag {
 public:
  virtual ~CallTag() = default;
  // One event of the call: `ok` as the queue reported it.
  virtual void Proceed(bool ok) = 0;
};

class CallQueues {
 public:
  // REQUIRES: count >= 1.
  CallQueues(grpc::ServerBuilder& builder, int count);
  ~CallQueues();
  CallQueues(const CallQueues&) = delete;
  CallQueues& operator=(const CallQueues&) = delete;

  // Starts the threads; after the server is built.
  void Start();

  const std::vector<std::unique_ptr<grpc::ServerCompletionQueue>>& queues()
      const {
    return queues_;
  }

  // Runs `start`, which starts an operation whose event comes to one of
  // the queues (asks gRPC for a call, or answers one), unless the queues
  // are closing; false when it did not.
  bool StartOp(absl::FunctionRef<void()> start);

 private:
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  // Held shared by StartOp(), exclusively to close.
  absl::Mutex mu_;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
};

template <typename Request, typename Response>
class UnaryCall final : public CallTag {
 public:
  // AsyncService::RequestFoo of the method's generated service.
  using RequestMethod =
      std::function<void(grpc::ServerContext*, Request*,
                         grpc::ServerAsyncResponseWriter<Response>*,
                         grpc::ServerCompletionQueue*, void*)>;
  using Handler = std::function<void(UnaryCall&)>;
  // How one method is served; must outlive the queues.
  struct Method {
    RequestMethod request;
    Handler handler;
  };

  // Asks for the next call of `method` on `queue`.
  static void Await(CallQueues& queues, grpc::ServerCompletionQueue* queue,
                    const Method& method) {
    auto* call = new UnaryCall(queues, queue, method);
    const bool requested = queues.StartOp([&] {
      method.request(&call->context_, &call->request_, &call->writer_, queue,
                     call);
    });
    if (!requested) delete call;
  }

  const Request& request() const { return request_; }
  Response* response() { return &response_; }
  // The caller's deadline has passed: nobody waits for the answer.
  // (gRPC tells an asynchronous method of a caller's cancel only through
  // one more event per call; a cancelled call is answered, to no one.)
  bool abandoned() const {
    return context_.deadline() <= std::chrono::system_clock::now();
  }

  // Sends the answer (response() when `status` is OK). From any thread,
  // once. When the queues are closing (the server has shut down and
  // cancelled the call) the call just goes.
  void Finish(const grpc::Status& status) {
    finishing_ = true;
    const bool started =
        queues_.StartOp([&] { writer_.Finish(response_, status, this); });
    if (!started) delete this;
  }

  void Proceed(bool ok) override {
    if (finishing_ || !ok) {
      // Answered (delivered or not), or the server shuts down and no call
      // came: gRPC is done with this one.
      delete this;
      return;
    }
    Await(queues_, queue_, method_);
    method_.handler(*this);
  }

 private:
  UnaryCall(CallQueues& queues, grpc::ServerCompletionQueue* queue,
            const Method& method)
      : queues_(queues), queue_(queue), method_(method) {}

  CallQueues& queues_;
  grpc::ServerCompletionQueue* const queue_;
  const Method& method_;
  grpc::ServerContext context_;
  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> writer_{&context_};
  // Set before Finish() hands the call to gRPC: its next event is its
  // last.
  bool finishing_ = false;
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_CALL_QUEUES_H_
