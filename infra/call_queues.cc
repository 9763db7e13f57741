#include "infra/call_queues.h"

#include "infra/check.h"

namespace kehu::infra {

CallQueues::CallQueues(grpc::ServerBuilder& builder, int count) {
  KEHU_CHECK(count >= 1);
  for (int i = 0; i < count; ++i) {
    queues_.push_back(builder.AddCompletionQueue());
  }
}

CallQueues::~CallQueues() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  for (const auto& queue : queues_) queue->Shutdown();
  for (std::thread& thread : threads_) thread.join();
  if (threads_.empty()) {
    // Never started: drain here (a queue must be empty to be destroyed).
    for (const auto& queue : queues_) {
      void* tag;
      bool ok;
      while (queue->Next(&tag, &ok)) static_cast<CallTag*>(tag)->Proceed(ok);
    }
  }
}

void CallQueues::Start() {
  for (const auto& queue : queues_) {
    threads_.emplace_back([queue = queue.get()] {
      void* tag;
      bool ok;
      while (queue->Next(&tag, &ok)) static_cast<CallTag*>(tag)->Proceed(ok);
    });
  }
}

bool CallQueues::StartOp(absl::FunctionRef<void()> start) {
  absl::ReaderMutexLock lock(&mu_);
  if (closing_) return false;
  start();
  return true;
}

}  // namespace kehu::infra
