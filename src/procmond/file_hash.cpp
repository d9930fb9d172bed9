// Streaming SHA-256 over read(2) with one stack buffer per call.
#include "procmond/file_hash.hpp"

#include <array>
#include <cerrno>
#include <memory>
#include <system_error>

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procmond/unique_fd.hpp"

namespace daemoneye::procmond {
namespace {

constexpr std::size_t chunk_size = std::size_t{64} * 1024;

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using md_ctx = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

// "cannot <action> <what>: <errno text>", with the errno as the code. The
// category's message() is thread-safe, unlike strerror(3).
ipc::ipc_error errno_error(int err, std::string_view action, std::string_view what) {
  const std::error_code code(err, std::generic_category());
  return {code, fmt::format("cannot {} {}: {}", action, what, code.message())};
}

ipc::ipc_error openssl_error(std::string_view what) {
  return {ipc::errc::io, fmt::format("SHA-256 of {} failed inside OpenSSL", what)};
}

std::string to_hex(const unsigned char* digest, unsigned int size) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string hex(static_cast<std::size_t>(size) * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    hex[2 * i] = digits[digest[i] >> 4U];
    hex[2 * i + 1] = digits[digest[i] & 0x0FU];
  }
  return hex;
}

// Runs `feed(ctx)` between init and final; feed returns false after reporting its own error.
template <typename Feed>
ipc::result<std::string> sha256_of(std::string_view what, Feed&& feed) {
  md_ctx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return ipc::fail(openssl_error(what));
  if (auto fed = feed(ctx.get()); !fed) return ipc::fail(std::move(fed).error());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) != 1) return ipc::fail(openssl_error(what));
  return to_hex(digest.data(), size);
}

}  // namespace

ipc::result<std::string> sha256_fd(int fd, std::string_view what) {
  return sha256_of(what, [&](EVP_MD_CTX* ctx) -> ipc::result<void> {
    std::array<unsigned char, chunk_size> chunk;  // NOLINT(cppcoreguidelines-pro-type-member-init): read() fills it
    for (;;) {
      const ssize_t n = ::read(fd, chunk.data(), chunk.size());
      if (n == 0) return {};
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        return ipc::fail(errno_error(err, "read", what));
      }
      if (EVP_DigestUpdate(ctx, chunk.data(), static_cast<std::size_t>(n)) != 1) {
        return ipc::fail(openssl_error(what));
      }
    }
  });
}

ipc::result<std::string> sha256_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are hashed.
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    const int err = errno;
    return ipc::fail(errno_error(err, "open", path));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return ipc::fail(errno_error(err, "stat", path));
  }
  if (!S_ISREG(st.st_mode)) {
    const auto code =
        std::make_error_code(S_ISDIR(st.st_mode) ? std::errc::is_a_directory : std::errc::invalid_argument);
    return ipc::fail(ipc::ipc_error(code, fmt::format("cannot hash {}: not a regular file", path)));
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);  // a hint; failure changes nothing
  return sha256_fd(fd.get(), path);
}

}  // namespace daemoneye::procmond
