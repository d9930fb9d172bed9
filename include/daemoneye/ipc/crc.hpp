// CRC-32C (Castagnoli) and CRC-32 (IEEE, as zlib) of byte ranges, computed by
// ISA-L. The frame header carries one of them.
//
//   crc32_value c = crc32(crc32_variant::castagnoli, bytes);
//   if (c != expected) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace daemoneye::ipc {

enum class crc32_variant : std::uint8_t {
  castagnoli,  ///< CRC-32C, the default; check value 0xE3069283
  ieee,        ///< CRC-32/ISO-HDLC as in zlib; check value 0xCBF43926
};

std::string_view to_string(crc32_variant v) noexcept;

/// A checksum: comparable for equality and convertible to its integer, nothing else.
class crc32_value {
 public:
  constexpr crc32_value() = default;
  constexpr explicit crc32_value(std::uint32_t v) noexcept : value_(v) {}
  [[nodiscard]] constexpr std::uint32_t value() const noexcept { return value_; }
  friend constexpr bool operator==(crc32_value, crc32_value) = default;

 private:
  std::uint32_t value_ = 0;
};

/// The checksum of `bytes` under `variant`. Thread-safe, no allocation.
crc32_value crc32(crc32_variant variant, std::span<const std::byte> bytes) noexcept;

inline crc32_value crc32(crc32_variant variant, std::string_view text) noexcept {
  return crc32(variant, std::as_bytes(std::span(text.data(), text.size())));
}

}  // namespace daemoneye::ipc
