// WorkerPool: a fixed set of threads that run queued tasks, with a bound
// on the queue.
//
// Operation: TrySchedule() appends a task to one FIFO queue unless
// `max_queued` tasks are already waiting, and wakes one thread; each
// thread takes the oldest task and runs it. The destructor stops taking
// new tasks, lets the threads run every task already queued, and joins
// them.
//
// Why: the query service (query/query_service.h) reads its calls on a
// few completion-queue threads (infra/call_queues.h), which must not
// block on a long scan. Calls that scan go here instead. The fixed set of
// threads and the bounded queue keep an overload from turning into thousands of
// threads: a full queue is refused at once (the caller answers
// RESOURCE_EXHAUSTED).
//
// Concurrency: TrySchedule() and queued() may be called from any thread.
// A task must not destroy its pool.
#ifndef KEHU_INFRA_WORKER_POOL_H_
#define KEHU_INFRA_WORKER_POOL_H_

#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace kehu::infra {

class WorkerPool {
 public:
  // REQUIRES: threads >= 1, max_queued >= 1.
  WorkerPool(int threads, size_t max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false, and `task` is dropped unrun, when `max_queued`
  // tasks are waiting already.
  bool TrySchedule(absl::AnyInvocable<void() &&> task);

  // Tasks waiting for a thread now (not those running).
  size_t queued() const;

 private:
  void Work();

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace kehu::infra

#endif  // KEHU_INFRA_WORKER_POOL_H_
