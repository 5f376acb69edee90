// SPDX-License-Identifier: MIT
#include "core/spill.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <stop_token>
#include <system_error>
#include <thread>

namespace pytrace {

namespace {

// The file's chunks are mapped one after another into one range of
// addresses reserved when the file is made (PROT_NONE until a chunk is
// mapped there), so that one madvise() covers them all. Where the range
// cannot be reserved (an address-space limit, ulimit -v), chunks are
// mapped anywhere and not trimmed.
constexpr uint64_t kReservedBytes = uint64_t{1} << 40;
// How often the file's pages are unmapped from the process (see trim()).
constexpr auto kTrimEvery = std::chrono::milliseconds(250);

struct Spill {
  std::mutex mutex;
  int fd = -1;
  char* base = nullptr;  // the reserved range, if there is one
  uint64_t end = 0;      // bytes of the file given out (at base + offset, in a reserved range)
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

bool in_reserved_range(const Spill& s, const void* chunk) {
  auto* at = static_cast<const char*>(chunk);
  return s.base && at >= s.base && at < s.base + kReservedBytes;
}

// Addresses of the reserved range back to reserved: after a chunk there is
// released, or its mapping failed (which may leave a hole that another
// mapping could take, and trim() would then wipe).
void reserve_again(void* chunk, size_t bytes) {
  mmap(chunk, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

// Unmapping pages of a shared file mapping while another thread writes to
// them is safe from Linux 6.1 ("mm: delay page_remove_rmap() until after
// the TLB has been flushed"); before, such a write could be lost.
bool trimming_is_safe() {
  utsname name{};
  int major = 0, minor = 0;
  return uname(&name) == 0 && std::sscanf(name.release, "%d.%d", &major, &minor) == 2 &&
         (major > 6 || (major == 6 && minor >= 1));
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
  int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot make an unnamed file in " + directory + ": " + std::strerror(errno);
  s.fd = fd;
  if (!trimming_is_safe()) return "";
  void* reserved =
      mmap(nullptr, kReservedBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return "";
  try {
    s.trimmer = std::jthread(trim_until_stopped);
    s.base = static_cast<char*>(reserved);
  } catch (const std::system_error&) {  // no thread: chunks are mapped anywhere, untrimmed
    munmap(reserved, kReservedBytes);
  }
  return "";
}

void* SpillFile::allocate(size_t bytes, bool spill_it) {
  if (!spill_it) return heap_chunk(bytes);
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  // Blocks are reserved first: a mapping of a file that cannot grow on a
  // full disk would fault (SIGBUS) when written; this fails cleanly instead.
  bool room = !s.base || s.end + bytes <= kReservedBytes;
  if (s.fd >= 0 && room && fallocate(s.fd, 0, static_cast<off_t>(s.end), static_cast<off_t>(bytes)) == 0) {
    auto offset = static_cast<off_t>(s.end);
    void* chunk =
        s.base ? mmap(s.base + s.end, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, s.fd, offset)
               : mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd, offset);
    if (chunk != MAP_FAILED) {
      s.end += bytes;
      return chunk;
    }
    if (s.base) reserve_again(s.base + s.end, bytes);
  }
  return heap_chunk(bytes);
}

// A file chunk's blocks are freed (MADV_REMOVE) and, in the reserved
// range, its addresses reserved again (trim() covers the whole range);
// anything else is unmapped.
void SpillFile::release(void* chunk, size_t bytes) {
  if (!chunk) return;
  madvise(chunk, bytes, MADV_REMOVE);  // fails harmlessly on memory of the process's own
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  if (in_reserved_range(s, chunk))
    reserve_again(chunk, bytes);
  else
    munmap(chunk, bytes);
}

void SpillFile::trim() {
  Spill& s = spill();
  char* base;
  uint64_t end;
  {
    std::lock_guard lock(s.mutex);
    base = s.base;
    end = s.end;
  }
  // The range only grows and stays mapped: no lock while the kernel walks
  // it, so that allocate() does not wait.
  if (base && end) madvise(base, end, MADV_DONTNEED);
}

uint64_t SpillFile::spilled_bytes() {
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  return s.end;
}

}  // namespace pytrace
