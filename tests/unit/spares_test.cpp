// spares: a connection's recycled messages come back reset, and no more than
// the bound are kept.
#include "spares.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::ipc::detail {
namespace {

const auto clear = [](DetectionResult& r) { r.Clear(); };

TEST(Spares, TakeGivesANewObjectWhenNoneIsKept) {
  spares<DetectionResult, 2> kept;
  auto r = kept.take(clear);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->ByteSizeLong(), 0U);
}

TEST(Spares, TakeGivesBackAKeptObjectAfterResettingIt) {
  spares<DetectionResult, 2> kept;
  auto r = std::make_unique<DetectionResult>();
  r->set_task_id(std::string(200, 'x'));
  const DetectionResult* address = r.get();
  kept.keep(std::move(r));
  auto again = kept.take(clear);
  EXPECT_EQ(again.get(), address) << "a new object instead of the kept one";
  EXPECT_TRUE(again->task_id().empty()) << "not reset";
  EXPECT_EQ(kept.size(), 0U);
}

TEST(Spares, KeepsAtMostItsBoundAndIgnoresNull) {
  spares<DetectionResult, 2> kept;
  kept.keep(nullptr);
  EXPECT_EQ(kept.size(), 0U);
  for (int i = 0; i < 3; ++i) kept.keep(std::make_unique<DetectionResult>());
  EXPECT_EQ(kept.size(), 2U);
  kept.clear();
  EXPECT_EQ(kept.size(), 0U);
}

}  // namespace
}  // namespace daemoneye::ipc::detail
