// sha256_hex through Windows CNG: BCryptHash on a SHA-256 algorithm provider
// opened once per call (the CLI hashes one small buffer per run).
#include <array>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
// clang-format off
#include <windows.h>
#include <bcrypt.h>
// clang-format on

#include "cli/sha256.hpp"

namespace daemoneye::cli {
namespace {

constexpr std::size_t sha256_bytes = 32;

bool nt_success(NTSTATUS status) noexcept { return status >= 0; }

[[noreturn]] void fail(const char* call, NTSTATUS status) {
  throw std::runtime_error(fmt::format("CNG {}(SHA256) failed: NTSTATUS 0x{:08x}", call, static_cast<ULONG>(status)));
}

/// Closes the algorithm provider on every path out.
class algorithm_provider {
 public:
  algorithm_provider() {
    if (const NTSTATUS status = ::BCryptOpenAlgorithmProvider(&handle_, BCRYPT_SHA256_ALGORITHM, nullptr, 0);
        !nt_success(status)) {
      fail("BCryptOpenAlgorithmProvider", status);
    }
  }
  algorithm_provider(const algorithm_provider&) = delete;
  algorithm_provider& operator=(const algorithm_provider&) = delete;
  ~algorithm_provider() { ::BCryptCloseAlgorithmProvider(handle_, 0); }

  [[nodiscard]] BCRYPT_ALG_HANDLE get() const noexcept { return handle_; }

 private:
  BCRYPT_ALG_HANDLE handle_ = nullptr;
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  if (data.size() > std::numeric_limits<ULONG>::max()) {
    throw std::runtime_error("sha256_hex: input larger than 4 GiB");
  }
  const algorithm_provider provider;
  std::array<UCHAR, sha256_bytes> digest{};
  // BCryptHash takes a non-const input pointer but only reads it.
  auto* input = reinterpret_cast<PUCHAR>(const_cast<char*>(data.data()));  // NOLINT: the API's signature
  if (const NTSTATUS status = ::BCryptHash(provider.get(), nullptr, 0, input, static_cast<ULONG>(data.size()),
                                           digest.data(), static_cast<ULONG>(digest.size()));
      !nt_success(status)) {
    fail("BCryptHash", status);
  }
  std::string hex;
  for (const UCHAR byte : digest) hex += fmt::format("{:02x}", byte);
  return hex;
}

}  // namespace daemoneye::cli
