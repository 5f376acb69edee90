// SPDX-License-Identifier: MIT
#include "core/spill.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <new>
#include <stop_token>
#include <thread>

namespace pytrace {

namespace {

// The file's chunks are mapped one after another into one range of
// addresses reserved when the file is made (PROT_NONE until a chunk is
// mapped there), so that one madvise() covers them all.
constexpr uint64_t kReservedBytes = uint64_t{1} << 40;
// How often the file's pages are unmapped from the process (see trim()).
constexpr auto kTrimEvery = std::chrono::milliseconds(100);

struct Spill {
  std::mutex mutex;
  int fd = -1;
  char* base = nullptr;  // the reserved range
  uint64_t end = 0;      // bytes of the file given out, mapped at base
  std::jthread trimmer;  // last: stopped and joined first
};

Spill& spill() {
  static Spill state;
  return state;
}

// Memory of the process's own, when there is no spill file or it is full.
void* heap_chunk(size_t bytes) {
  void* chunk = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (chunk == MAP_FAILED) throw std::bad_alloc();
  return chunk;
}

// Every kTrimEvery until the process ends.
void trim_until_stopped(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any tick;
  std::unique_lock lock(mutex);
  while (!tick.wait_for(lock, stop, kTrimEvery, [] { return false; }) && !stop.stop_requested())
    SpillFile::trim();
}

}  // namespace

std::string SpillFile::open(const std::string& directory) {
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  if (s.fd >= 0) return "";
  void* reserved =
      mmap(nullptr, kReservedBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED)
    return std::string("cannot reserve addresses for a spill file: ") + std::strerror(errno);
  int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    munmap(reserved, kReservedBytes);
    return "cannot make an unnamed file in " + directory + ": " + std::strerror(errno);
  }
  s.fd = fd;
  s.base = static_cast<char*>(reserved);
  s.trimmer = std::jthread(trim_until_stopped);
  return "";
}

void* SpillFile::allocate(size_t bytes, bool spill_it) {
  if (!spill_it) return heap_chunk(bytes);
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  // Blocks are reserved first: a mapping of a file that cannot grow on a
  // full disk would fault (SIGBUS) when written; this fails cleanly instead.
  if (s.fd >= 0 && s.end + bytes <= kReservedBytes &&
      fallocate(s.fd, 0, static_cast<off_t>(s.end), static_cast<off_t>(bytes)) == 0) {
    void* chunk = mmap(s.base + s.end, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, s.fd,
                       static_cast<off_t>(s.end));
    if (chunk != MAP_FAILED) {
      s.end += bytes;
      return chunk;
    }
  }
  return heap_chunk(bytes);
}

// A file chunk's blocks are freed (MADV_REMOVE) and its addresses go back
// to the reservation (never unmapped: trim() covers the whole range);
// memory of the process's own is unmapped.
void SpillFile::release(void* chunk, size_t bytes) {
  if (!chunk) return;
  Spill& s = spill();
  auto* at = static_cast<char*>(chunk);
  if (s.base && at >= s.base && at < s.base + kReservedBytes) {
    madvise(chunk, bytes, MADV_REMOVE);
    mmap(chunk, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return;
  }
  munmap(chunk, bytes);
}

void SpillFile::trim() {
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  if (s.base && s.end) madvise(s.base, s.end, MADV_DONTNEED);
}

uint64_t SpillFile::spilled_bytes() {
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  return s.end;
}

}  // namespace pytrace
