// pool_lane: how many pool workers a connection's queue starts, when a worker
// gives up its turn, and when the connection's thread is told about answers.
#include "pool_lane.hpp"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace daemoneye::ipc::detail {
namespace {

pool_lane::job job_for(std::uint64_t slot) {
  pool_lane::job j;
  j.slot = slot;
  j.task.set_task_id("task-" + std::to_string(slot));
  j.result = std::make_unique<DetectionResult>();
  return j;
}

TEST(PoolLane, StartsAWorkerPerTaskUpToItsLimit) {
  pool_lane lane(2);
  EXPECT_TRUE(lane.push(job_for(1)));
  EXPECT_TRUE(lane.push(job_for(2)));
  EXPECT_FALSE(lane.push(job_for(3))) << "a third worker for a lane of two";
}

TEST(PoolLane, WorkersTakeTasksInOrderAndRetireWhenNoneIsLeft) {
  pool_lane lane(1);
  ASSERT_TRUE(lane.push(job_for(1)));
  EXPECT_FALSE(lane.push(job_for(2)));
  std::optional<pool_lane::job> job;
  ASSERT_EQ(lane.next(0, job), pool_lane::step::run);
  EXPECT_EQ(job->slot, 1U);
  EXPECT_EQ(job->task.task_id(), "task-1");
  ASSERT_EQ(lane.next(1, job), pool_lane::step::run);
  EXPECT_EQ(job->slot, 2U);
  EXPECT_EQ(lane.next(2, job), pool_lane::step::retire);
  // Retired: the next task needs a worker again.
  EXPECT_TRUE(lane.push(job_for(3)));
}

TEST(PoolLane, AWorkerYieldsAfterItsTurnWhileTasksRemain) {
  pool_lane lane(1, 2);
  ASSERT_TRUE(lane.push(job_for(1)));
  for (std::uint64_t slot = 2; slot <= 3; ++slot) EXPECT_FALSE(lane.push(job_for(slot)));
  std::optional<pool_lane::job> job;
  ASSERT_EQ(lane.next(0, job), pool_lane::step::run);
  ASSERT_EQ(lane.next(1, job), pool_lane::step::run);
  EXPECT_EQ(lane.next(2, job), pool_lane::step::yield);
  // Still counted as the lane's worker: its next turn takes the task left.
  EXPECT_FALSE(lane.push(job_for(4)));
  ASSERT_EQ(lane.next(0, job), pool_lane::step::run);
  EXPECT_EQ(job->slot, 3U);
}

TEST(PoolLane, OneNoticeCarriesEveryAnswerFinishedBeforeItIsTaken) {
  pool_lane lane(2);
  EXPECT_TRUE(lane.finish(job_for(1))) << "the first answer must be announced";
  EXPECT_FALSE(lane.finish(job_for(2))) << "a notice is already on its way";
  auto answers = lane.take_finished();
  ASSERT_EQ(answers.size(), 2U);
  EXPECT_EQ(answers[0].slot, 1U);
  EXPECT_EQ(answers[1].slot, 2U);
  EXPECT_TRUE(lane.take_finished().empty());
  EXPECT_TRUE(lane.finish(job_for(3))) << "after the take, a new answer needs a new notice";
}

TEST(PoolLane, AnswersFromSeveralThreadsAreEachTakenOnce) {
  constexpr int per_thread = 2000;
  pool_lane lane(2);
  std::atomic<int> notices{0};
  std::vector<std::uint64_t> taken;
  std::atomic<bool> done{false};
  std::thread taker([&] {
    while (!done.load() || notices.load() > 0) {
      if (notices.load() == 0) {
        std::this_thread::yield();
        continue;
      }
      notices.fetch_sub(1);
      for (auto& j : lane.take_finished()) taken.push_back(j.slot);
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        if (lane.finish(job_for(static_cast<std::uint64_t>(t * per_thread + i)))) notices.fetch_add(1);
      }
    });
  }
  for (auto& w : workers) w.join();
  done.store(true);
  taker.join();
  for (auto& j : lane.take_finished()) taken.push_back(j.slot);
  std::sort(taken.begin(), taken.end());
  ASSERT_EQ(taken.size(), 2U * per_thread);
  for (std::size_t i = 0; i < taken.size(); ++i) ASSERT_EQ(taken[i], i) << "lost or duplicated answer";
}

}  // namespace
}  // namespace daemoneye::ipc::detail
