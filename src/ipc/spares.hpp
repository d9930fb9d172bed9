// spares: objects a connection keeps for reuse, so that a message's memory
// (strings, repeated fields) serves the next task instead of being freed and
// allocated again. Not thread-safe: one connection's thread uses it.
//
//   spares<DetectionResult, 4> results;
//   auto r = results.take([](DetectionResult& m) { m.Clear(); });   // kept or new
//   ...
//   results.keep(std::move(r));                                      // dropped when 4 are kept
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace daemoneye::ipc::detail {

template <typename T, std::size_t Max>
class spares {
 public:
  /// A kept object, after `reset(object)`, or a new one when none is kept.
  template <typename Reset>
  std::unique_ptr<T> take(Reset&& reset) {
    if (kept_.empty()) return std::make_unique<T>();
    auto object = std::move(kept_.back());
    kept_.pop_back();
    std::forward<Reset>(reset)(*object);
    return object;
  }

  /// Keeps `object` for a later take(), unless `Max` are kept already.
  void keep(std::unique_ptr<T> object) {
    if (object != nullptr && kept_.size() < Max) kept_.push_back(std::move(object));
  }

  /// Frees every kept object.
  void clear() noexcept { kept_.clear(); }

  [[nodiscard]] std::size_t size() const noexcept { return kept_.size(); }

 private:
  std::vector<std::unique_ptr<T>> kept_;
};

}  // namespace daemoneye::ipc::detail
