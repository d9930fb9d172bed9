// sha256_hex through OpenSSL's one-shot EVP_Digest.
#include <array>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "cli/sha256.hpp"

namespace daemoneye::cli {

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
  }
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace daemoneye::cli
