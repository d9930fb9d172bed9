// Tests of crc.hpp: the published check values and test vectors of both CRC variants.
#include "daemoneye/ipc/crc.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <gtest/gtest.h>

namespace daemoneye::ipc {
namespace {

std::uint32_t crc32c_of(std::span<const std::byte> bytes) { return crc32(crc32_variant::castagnoli, bytes).value(); }
std::uint32_t ieee_of(std::span<const std::byte> bytes) { return crc32(crc32_variant::ieee, bytes).value(); }

std::vector<std::byte> filled(std::size_t n, std::uint8_t value) {
  std::vector<std::byte> bytes(n, static_cast<std::byte>(value));
  return bytes;
}

TEST(Crc32, CastagnoliCheckValue) { EXPECT_EQ(crc32(crc32_variant::castagnoli, "123456789").value(), 0xE3069283U); }

TEST(Crc32, IeeeCheckValueMatchesZlib) { EXPECT_EQ(crc32(crc32_variant::ieee, "123456789").value(), 0xCBF43926U); }

TEST(Crc32, EmptyInputIsZeroForBothVariants) {
  EXPECT_EQ(crc32(crc32_variant::castagnoli, std::span<const std::byte>{}).value(), 0U);
  EXPECT_EQ(crc32(crc32_variant::ieee, std::span<const std::byte>{}).value(), 0U);
  EXPECT_EQ(crc32(crc32_variant::castagnoli, "").value(), 0U);
}

// RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32, CastagnoliMatchesRfc3720Vectors) {
  EXPECT_EQ(crc32c_of(filled(32, 0x00)), 0x8A9136AAU);
  EXPECT_EQ(crc32c_of(filled(32, 0xFF)), 0x62A8AB43U);
  std::array<std::byte, 32> ascending{};
  std::array<std::byte, 32> descending{};
  for (std::size_t i = 0; i < 32; ++i) {
    ascending[i] = static_cast<std::byte>(i);
    descending[i] = static_cast<std::byte>(31 - i);
  }
  EXPECT_EQ(crc32c_of(ascending), 0x46DD794EU);
  EXPECT_EQ(crc32c_of(descending), 0x113FDB5CU);
}

TEST(Crc32, KnownTextVectors) {
  constexpr const char* fox = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(crc32(crc32_variant::ieee, fox).value(), 0x414FA339U);
  EXPECT_EQ(crc32(crc32_variant::castagnoli, fox).value(), 0x22620404U);
  EXPECT_EQ(crc32(crc32_variant::ieee, "a").value(), 0xE8B7BE43U);
  EXPECT_EQ(crc32(crc32_variant::castagnoli, "a").value(), 0xC1D04330U);
  EXPECT_EQ(ieee_of(filled(32, 0x00)), 0x190A55ADU);
}

TEST(Crc32, VariantsDiffer) {
  EXPECT_NE(crc32(crc32_variant::castagnoli, "123456789"), crc32(crc32_variant::ieee, "123456789"));
}

// The accelerated kernels take different paths by length and alignment; all
// must agree with the bit-at-a-time definition of the two CRCs.
std::uint32_t reference_crc(std::uint32_t reflected_poly, std::span<const std::byte> bytes) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (const auto b : bytes) {
    crc ^= static_cast<std::uint32_t>(b);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1U) ^ ((crc & 1U) != 0 ? reflected_poly : 0U);
  }
  return ~crc;
}

TEST(Crc32, MatchesTheBitwiseDefinitionForEveryLengthAndAlignment) {
  std::vector<std::byte> data(1100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>((i * 131U + 7U) & 0xFFU);
  const std::span<const std::byte> all(data);
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t length = 0; length + offset <= all.size(); length += (length < 300 ? 1 : 61)) {
      const auto piece = all.subspan(offset, length);
      ASSERT_EQ(crc32c_of(piece), reference_crc(0x82F63B78U, piece)) << "offset " << offset << " length " << length;
      ASSERT_EQ(ieee_of(piece), reference_crc(0xEDB88320U, piece)) << "offset " << offset << " length " << length;
    }
  }
}

TEST(Crc32Value, ComparesByValue) {
  EXPECT_EQ(crc32_value(7), crc32_value(7));
  EXPECT_NE(crc32_value(7), crc32_value(8));
  EXPECT_EQ(crc32_value().value(), 0U);
  static_assert(crc32_value(0xE3069283U).value() == 0xE3069283U);
}

TEST(Crc32Variant, Names) {
  EXPECT_EQ(to_string(crc32_variant::castagnoli), "castagnoli");
  EXPECT_EQ(to_string(crc32_variant::ieee), "ieee");
}

}  // namespace
}  // namespace daemoneye::ipc
