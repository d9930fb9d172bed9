// The completion token the project's coroutines use: errors come back as
// values (`auto [ec, n] = co_await op(..., use_nothrow_awaitable)`), never as
// exceptions.
#pragma once

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace daemoneye::ipc::detail {

inline constexpr auto use_nothrow_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace daemoneye::ipc::detail
