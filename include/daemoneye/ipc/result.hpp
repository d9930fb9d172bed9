// result<T>: a value or an ipc_error, the project's return type for expected
// failures (EOF, timeout, bad frame, bad config).
//
//   result<frame> r = decode(...);
//   if (!r) log(r.error().message());
//
// The interface is a subset of std::expected, so moving to it is a change of
// this one header (g++ 12 only has std::expected under -std=c++23 and clang 14
// cannot compile it).
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace daemoneye::ipc {

/// Wraps an error value so it can be returned where a result<T> is expected.
template <typename E>
class unexpected {
 public:
  explicit unexpected(E error) : error_(std::move(error)) {}
  const E& error() const& noexcept { return error_; }
  E&& error() && noexcept { return std::move(error_); }

 private:
  E error_;
};

template <typename E>
unexpected(E) -> unexpected<E>;

/// A T or an E. Value type: copies and moves as its contents do.
/// Accessing the wrong alternative is a caller bug and asserts.
template <typename T, typename E>
class basic_result {
 public:
  using value_type = T;
  using error_type = E;

  /// A default-constructed value (as std::expected); needed by Asio's co_spawn.
  basic_result() requires std::is_default_constructible_v<T> : storage_(std::in_place_index<0>) {}
  template <typename U = T, typename = std::enable_if_t<std::is_constructible_v<T, U&&>>>
  basic_result(U&& value)
      : storage_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT(google-explicit-constructor)
  template <typename G>
  basic_result(unexpected<G> error)  // NOLINT(google-explicit-constructor)
      : storage_(std::in_place_index<1>, std::move(error).error()) {}

  [[nodiscard]] bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(storage_); }
  const T& value() const& { return std::get<0>(storage_); }
  T&& value() && { return std::get<0>(std::move(storage_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const& { return std::get<1>(storage_); }
  E&& error() && { return std::get<1>(std::move(storage_)); }

 private:
  std::variant<T, E> storage_;
};

/// Specialisation for operations that produce nothing but may fail.
template <typename E>
class basic_result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  basic_result() = default;
  template <typename G>
  basic_result(unexpected<G> error)  // NOLINT(google-explicit-constructor)
      : error_(std::move(error).error()), failed_(true) {}

  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {}
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace daemoneye::ipc
