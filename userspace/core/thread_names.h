// SPDX-License-Identifier: MIT
// Full thread names. The kernel keeps 15 bytes of a thread's name (CPython's
// _thread.set_name cuts it there, "Thread-1 (proce"); the whole name is the
// program's own, and it passes through threading.py's calls, which the
// trace sees with their argument values:
//   Thread.__init__(self, ..., name, ...)  a name given to the constructor
//   the Thread.name setter (self, name)     a name set later
//   Thread._bootstrap_inner(self)           on the new thread: which Thread it is
//   Thread.run(self), then the call it makes the target in a default name,
//                                           "Thread-N (target)"
// A name is used only when it was read whole. A default name is completed
// only from run's own first call, and only when the kernel's 15 bytes show
// at least 3 bytes of the target's name that agree with it; otherwise the
// kernel's name stays.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "core/frames.h"
#include "core/records.h"

namespace pytrace {

// threading.py, whose calls give the names: they are read whatever calls
// them, so filtering in the kernel never leaves them out (core/scope_verdicts.h).
inline bool is_threading_module(const CodeInfo& code) {
  return code.filename.ends_with("/threading.py");
}

class ThreadNames {
 public:
  // A call or return, with its code (the same the call stacks see).
  void add(const FrameRecord& frame, const CodeInfo& code);
  // A thread forked process `child`: the child has its process's Thread
  // objects and goes on as that thread.
  void fork(const RecordHeader& forking, uint32_t child);

  // The name to show for a thread the kernel names `kernel_name`.
  std::string full_name(uint32_t pid, uint32_t tid, const std::string& kernel_name) const;

  // The thread ended: its tid may be reused, its Thread object freed.
  void forget(uint32_t pid, uint32_t tid);

 private:
  using ThreadKey = std::pair<uint32_t, uint32_t>;  // pid, tid
  using ObjectKey = std::pair<uint32_t, uint64_t>;  // pid, a Thread object's address
  struct Running {
    uint64_t object = 0;     // the Thread object (0: unknown)
    uint64_t run_frame = 0;  // Thread.run's frame while it waits for its first call
    std::string target;      // the code name of that first call
  };
  std::map<ObjectKey, std::string> given_;  // names given to Thread objects
  std::map<ThreadKey, Running> running_;
  size_t waiting_for_target_ = 0;  // threads whose Thread.run has made no call yet
};

}  // namespace pytrace
