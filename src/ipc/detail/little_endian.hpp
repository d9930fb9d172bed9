// Little-endian loads and stores of 32-bit header fields, independent of the
// host's byte order and of alignment.
#pragma once

#include <cstddef>
#include <cstdint>

namespace daemoneye::ipc::detail {

inline void store_u32_le(std::byte* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::byte>(v);
  p[1] = static_cast<std::byte>(v >> 8U);
  p[2] = static_cast<std::byte>(v >> 16U);
  p[3] = static_cast<std::byte>(v >> 24U);
}

inline std::uint32_t load_u32_le(const std::byte* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8U) |
         (static_cast<std::uint32_t>(p[2]) << 16U) | (static_cast<std::uint32_t>(p[3]) << 24U);
}

}  // namespace daemoneye::ipc::detail
