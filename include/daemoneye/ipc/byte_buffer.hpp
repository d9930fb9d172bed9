// byte_buffer: a growable byte array whose growth does not zero-fill, so a
// frame can be serialised or read straight into it. The I/O buffers of the
// codec, the server and the clients are byte_buffers reused across frames.
//
//   byte_buffer out;
//   std::span<std::byte> room = out.append_uninitialized(n);   // write n bytes into room
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace daemoneye::ipc {

/// Resource type: movable, not copyable. Not thread-safe.
class byte_buffer {
 public:
  byte_buffer() = default;
  byte_buffer(const byte_buffer&) = delete;
  byte_buffer& operator=(const byte_buffer&) = delete;
  byte_buffer(byte_buffer&& other) noexcept { swap(other); }
  byte_buffer& operator=(byte_buffer&& other) noexcept {
    byte_buffer(std::move(other)).swap(*this);
    return *this;
  }
  ~byte_buffer() = default;

  [[nodiscard]] std::byte* data() noexcept { return data_.get(); }
  [[nodiscard]] const std::byte* data() const noexcept { return data_.get(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::span<std::byte> span() noexcept { return {data(), size_}; }
  [[nodiscard]] std::span<const std::byte> span() const noexcept { return {data(), size_}; }

  /// Ensures a capacity of at least `n` bytes, keeping the contents. Grows to
  /// exactly `n`, so callers bound the allocation by what they ask for.
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    auto fresh = std::make_unique_for_overwrite<std::byte[]>(n);
    if (size_ > 0) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    capacity_ = n;
  }

  /// Appends `n` bytes of unspecified content and returns them for writing.
  /// Grows geometrically, so repeated appends stay amortised O(1).
  std::span<std::byte> append_uninitialized(std::size_t n) {
    if (size_ + n > capacity_) reserve(size_ + n > capacity_ * 2 ? size_ + n : capacity_ * 2);
    std::span<std::byte> room{data_.get() + size_, n};
    size_ += n;
    return room;
  }

  void append(std::span<const std::byte> bytes) {
    if (bytes.empty()) return;
    std::memcpy(append_uninitialized(bytes.size()).data(), bytes.data(), bytes.size());
  }

  /// Sets the size to `n` (<= capacity()).
  void resize_within_capacity(std::size_t n) noexcept { size_ = n; }
  void clear() noexcept { size_ = 0; }

  /// Releases the memory (for buffers that grew for one large frame).
  void shrink_to(std::size_t n) {
    if (capacity_ <= n) return;
    byte_buffer smaller;
    smaller.reserve(n > size_ ? n : size_);
    smaller.append(span());
    swap(smaller);
  }

  void swap(byte_buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace daemoneye::ipc
