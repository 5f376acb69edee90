// SPDX-License-Identifier: MIT
#include "core/spill.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>

namespace pytrace {

namespace {

struct Spill {
  std::mutex mutex;
  int fd = -1;
  uint64_t end = 0;  // bytes of the file given out
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

}  // namespace

std::string SpillFile::open(const std::string& directory) {
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  if (s.fd >= 0) return "";
  int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot make an unnamed file in " + directory + ": " + std::strerror(errno);
  s.fd = fd;
  return "";
}

void* SpillFile::allocate(size_t bytes, bool spill_it) {
  if (!spill_it) return heap_chunk(bytes);
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  // Blocks are reserved first: a mapping of a file that cannot grow on a
  // full disk would fault (SIGBUS) when written; this fails cleanly instead.
  if (s.fd >= 0 && fallocate(s.fd, 0, static_cast<off_t>(s.end), static_cast<off_t>(bytes)) == 0) {
    void* chunk = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd, static_cast<off_t>(s.end));
    if (chunk != MAP_FAILED) {
      s.end += bytes;
      return chunk;
    }
  }
  return heap_chunk(bytes);
}

// Both kinds are mappings. A file chunk's blocks are freed first
// (MADV_REMOVE; it fails harmlessly on memory of the process's own).
void SpillFile::release(void* chunk, size_t bytes) {
  if (!chunk) return;
  madvise(chunk, bytes, MADV_REMOVE);
  munmap(chunk, bytes);
}

uint64_t SpillFile::spilled_bytes() {
  Spill& s = spill();
  std::lock_guard lock(s.mutex);
  return s.end;
}

}  // namespace pytrace
