// CRC computation delegated to ISA-L, which picks the fastest kernel for the CPU.
#include "daemoneye/ipc/crc.hpp"

#include <isa-l/crc.h>

namespace daemoneye::ipc {

std::string_view to_string(crc32_variant v) noexcept { return v == crc32_variant::ieee ? "ieee" : "castagnoli"; }

crc32_value crc32(crc32_variant variant, std::span<const std::byte> bytes) noexcept {
  // ISA-L's functions take a non-const pointer for historical reasons; they do not write.
  auto* data = const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(bytes.data()));  // NOLINT
  const auto size = static_cast<std::uint64_t>(bytes.size());
  if (variant == crc32_variant::ieee) {
    // crc32_gzip_refl is the reflected (zlib) CRC-32; ISA-L's crc32_ieee is the
    // non-reflected form and would not match zlib's check value.
    return crc32_value(crc32_gzip_refl(0, data, size));
  }
  // crc32_iscsi applies neither the initial nor the final inversion itself, and
  // takes an int length, so very large ranges go through in chunks.
  constexpr std::uint64_t chunk = 1U << 30U;
  unsigned int state = 0xFFFFFFFFU;
  for (std::uint64_t done = 0; done < size;) {
    const auto n = size - done < chunk ? size - done : chunk;
    state = crc32_iscsi(data + done, static_cast<int>(n), state);
    done += n;
  }
  return crc32_value(~state);
}

}  // namespace daemoneye::ipc
