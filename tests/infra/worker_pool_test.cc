#include "infra/worker_pool.h"

#include <atomic>
#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace kehu::infra {
namespace {

TEST(WorkerPoolTest, RunsEveryTaskScheduled) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(3, 1000);
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(pool.TrySchedule([&ran] { ran.fetch_add(1); }));
    }
  }  // the destructor runs what is still queued
  EXPECT_EQ(ran.load(), 500);
}

TEST(WorkerPoolTest, RefusesATaskWhenTheQueueIsFull) {
  absl::Notification running, release;
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1, 2);
    // The only thread is kept busy, so the next tasks wait in the queue.
    ASSERT_TRUE(pool.TrySchedule([&] {
      running.Notify();
      release.WaitForNotification();
    }));
    running.WaitForNotification();
    EXPECT_TRUE(pool.TrySchedule([&ran] { ran.fetch_add(1); }));
    EXPECT_TRUE(pool.TrySchedule([&ran] { ran.fetch_add(1); }));
    EXPECT_EQ(pool.queued(), 2u);
    EXPECT_FALSE(pool.TrySchedule([&ran] { ran.fetch_add(100); }));
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 2);  // the refused task never ran
}

TEST(WorkerPoolTest, TasksMayOwnMoveOnlyState) {
  std::atomic<int> seen{0};
  {
    WorkerPool pool(1, 1);
    auto value = std::make_unique<int>(7);
    ASSERT_TRUE(pool.TrySchedule(
        [&seen, value = std::move(value)] { seen.store(*value); }));
  }
  EXPECT_EQ(seen.load(), 7);
}

}  // namespace
}  // namespace kehu::infra
