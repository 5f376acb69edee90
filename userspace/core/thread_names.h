// SPDX-License-Identifier: MIT
// Full thread names. The kernel keeps 15 bytes of a thread's name (CPython's
// _thread.set_name cuts it there, "Thread-1 (proce"); the whole name is the
// program's own, and it passes through argument values of threading.py's
// calls that the trace reads anyway:
//   Thread.__init__(self, ..., name, ...)  a name given to the constructor
//   the Thread.name setter (self, name)     a name set later
//   Thread._bootstrap_inner(self)           on the new thread: which Thread it is
//   Thread.run(self), then its first call   the target in a default name,
//                                           "Thread-N (target)"
// A default name is completed only when the kernel's name is a cut prefix of
// "Thread-N (" + the first call's name + ")", so no name is ever made up.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "core/frames.h"
#include "core/records.h"

namespace pytrace {

class ThreadNames {
 public:
  // A call or return, with its code (the same the call stacks see).
  void add(const FrameRecord& frame, const CodeInfo& code);

  // The name to show for a thread the kernel names `kernel_name`.
  std::string full_name(uint32_t pid, uint32_t tid, const std::string& kernel_name) const;

  // The thread ended: its tid may be reused.
  void forget(uint32_t pid, uint32_t tid);

 private:
  using ThreadKey = std::pair<uint32_t, uint32_t>;  // pid, tid
  using ObjectKey = std::pair<uint32_t, uint64_t>;  // pid, a Thread object's address
  std::map<ObjectKey, std::string> given_;          // names given to Thread objects
  std::map<ThreadKey, uint64_t> runs_;              // the Thread object each thread runs
  std::map<ThreadKey, std::string> targets_;        // the first call under Thread.run
  std::set<ThreadKey> awaiting_target_;             // Thread.run was entered, nothing since
};

}  // namespace pytrace
