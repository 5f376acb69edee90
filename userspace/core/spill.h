// SPDX-License-Identifier: MIT
// Where the logged calls live: chunks of a spill file mapped into memory.
//
// A trace of tens of millions of calls is more than the tracer should hold
// in its own memory (about 100 bytes a call). Its entries are kept in
// chunks of an unnamed file (O_TMPFILE in /var/tmp, mode 0600: no name,
// nothing another user can read or replace), mapped shared: the kernel
// writes them out and drops them under memory pressure like any file's
// pages, and reads them back when they are touched again (the last calls
// to patch a duration, the whole trace once when it is written). What the
// tracer keeps in its own memory is what is open: call stacks, the pattern
// grouper's shapes, buffers. Without a spill file (unit tests, or when it
// cannot be made), chunks are ordinary memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace pytrace {

class SpillFile {
 public:
  // Makes chunks from now on come from a new unnamed file in `directory`;
  // returns "" or why it could not (then chunks stay ordinary memory).
  static std::string open(const std::string& directory);
  // `bytes` (a multiple of the page size) of zeroed, writable memory: with
  // `spill`, from the spill file when there is one and it has room (its
  // blocks reserved), else from the process's own memory, whose pages
  // cost nothing until they are touched.
  static void* allocate(size_t bytes, bool spill = true);
  static void release(void* chunk, size_t bytes);
  // Unmaps the pages of every file chunk from the process (MADV_DONTNEED):
  // on a shared file mapping their contents stay in the page cache, written
  // back and dropped under memory pressure like any file's, and are mapped
  // again when touched. So the tracer's resident memory counts the chunks
  // touched lately, not every one filled so far. A thread does it four
  // times a second, and the loops that read every call (regrouping
  // by test, the grouper's input, the JSON writer) as they go. Only on Linux 6.1 and later, where unmapping
  // while another thread writes loses nothing, and where a range of
  // addresses for all chunks could be reserved (not under ulimit -v).
  static void trim();
  // trim() once in 2^20 calls of a loop that reads every call: such a loop
  // goes through the chunks faster than the timer.
  static void trim_now_and_then(size_t calls_read) {
    if (calls_read % (size_t{1} << 20) == (size_t{1} << 20) - 1) trim();
  }
  // Bytes of chunks given out from the file so far.
  static uint64_t spilled_bytes();
};

// A vector-like sequence of trivially copyable values in chunks from
// SpillFile: appending never moves what is stored, so references stay valid.
template <typename T>
class ChunkedStore {
  static_assert(std::is_trivially_copyable_v<T>, "chunks are file pages: plain data only");

 public:
  // 2^16 values: with 96-byte entries a chunk is 6 MiB, a whole number of pages.
  static constexpr size_t kChunkBits = 16;
  static constexpr size_t kChunkSize = size_t{1} << kChunkBits;

  ChunkedStore() = default;
  ChunkedStore(const ChunkedStore&) = delete;
  ChunkedStore& operator=(const ChunkedStore&) = delete;
  ChunkedStore(ChunkedStore&& other) noexcept
      : chunks_(std::exchange(other.chunks_, {})), size_(std::exchange(other.size_, 0)) {}
  ChunkedStore& operator=(ChunkedStore&& other) noexcept {
    if (this != &other) {
      release();
      chunks_ = std::exchange(other.chunks_, {});
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~ChunkedStore() { release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  const T& operator[](size_t i) const { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  T& back() { return (*this)[size_ - 1]; }
  const T& back() const { return (*this)[size_ - 1]; }

  // For range-for loops that read.
  class const_iterator {
   public:
    const_iterator(const ChunkedStore* store, size_t index) : store_(store), index_(index) {}
    const T& operator*() const { return (*store_)[index_]; }
    const_iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const const_iterator& other) const { return index_ != other.index_; }

   private:
    const ChunkedStore* store_;
    size_t index_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

  void push_back(const T& value) {
    // The first chunk is the process's own memory: a store that stays
    // small (a short-lived thread's calls) reserves no blocks on disk.
    if ((size_ >> kChunkBits) == chunks_.size())
      chunks_.push_back(static_cast<T*>(SpillFile::allocate(kBytes, !chunks_.empty())));
    (*this)[size_] = value;
    ++size_;
  }
  void pop_back() { --size_; }

 private:
  static constexpr size_t kBytes = kChunkSize * sizeof(T);

  void release() {
    for (T* chunk : chunks_) SpillFile::release(chunk, kBytes);
    chunks_.clear();
    size_ = 0;
  }

  std::vector<T*> chunks_;
  size_t size_ = 0;
};

}  // namespace pytrace
