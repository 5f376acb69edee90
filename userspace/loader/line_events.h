// SPDX-License-Identifier: MIT
// Executed lines (--track-executed-lines) and trace_where's breakpoint.
// CPython 3.15 has no line probe, so the program is made to run a small
// script of the tool's through PEP 768's remote execution: the script
// registers a sys.monitoring LINE callback, and the function probes see
// each call of it like any other call, made by the frame whose line runs,
// at that line. LINE events are turned on only for code objects in the
// scope; the rest cost one callback each (docs/probes.md, "Executed lines").
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/debug_offsets.h"
#include "loader/probes.h"

namespace pytrace {

// What the script watches.
struct LineWatch {
  std::vector<std::string> roots;     // report every line of code under these (absolute directories)
  std::vector<std::string> excluded;  // but not under these, unless the root lies inside (Scope's rule)
  // trace_where: report every run of this line of this file (absolute),
  // call kBreakpointName at its Nth in a process, and end the program there
  // unless `stop` is false.
  struct Breakpoint {
    std::string file;
    int line = 0;
    uint64_t iterations = 1;
    bool stop = true;
  };
  std::optional<Breakpoint> breakpoint;
  // Attached to a running program, which cannot inherit the pipe: the
  // script then tells that the tool is gone by its pid and start time.
  bool attached = false;
};

// The script, in a directory of its own that root owns and every user may
// read and enter (the program opens it with its own identity; it cannot
// change it). Removed with the object. The interpreter runs a requested
// script as "<string>", so the request names a one-line starter that runs
// the script under its own path, which tells its frames from the program's.
//
// The program inherits the read end of a pipe whose write end only this
// process holds: the script reads it now and then and, at end-of-file (the
// tool is gone, even killed), frees its sys.monitoring tool, so the program
// is not left slower than it was. A killed tool's directory is removed by
// the next one.
class LineScript {
 public:
  explicit LineScript(const LineWatch& watch);
  ~LineScript();
  LineScript(const LineScript&) = delete;
  LineScript& operator=(const LineScript&) = delete;

  const std::string& path() const { return path_; }                  // the script: its code's co_filename
  const std::string& starter_path() const { return starter_path_; }  // what the request names
  // The pipe's read end, for the program to inherit; close it here once
  // the program has it.
  int lifeline_fd() const { return lifeline_[0]; }
  void close_lifeline_read_end();

 private:
  int tmp_fd_ = -1;
  std::string dir_name_;  // in /tmp
  std::string path_;
  std::string starter_path_;
  int lifeline_[2] = {-1, -1};
};

// Leaves the request to run `script` with a running program (attached),
// through `mem_fd`, its /proc/PID/mem opened with the user's identity, in
// the thread state of a thread the probes found running Python. The eval
// breaker is updated as CPython's own sys.remote_exec does, while the
// program runs. Refuses when a request is already waiting there. Returns
// why it could not, or "".
std::string request_script(int mem_fd, uint64_t tstate, const RemoteExecOffsets& offsets,
                           const std::string& script);
// Takes back a request that is still waiting (the thread never came back to
// Python while traced), if it is still the one left there.
void cancel_request(int mem_fd, uint64_t tstate, const RemoteExecOffsets& offsets, const std::string& script);

// A launched program stopped at its first Python call of code from a file
// (its start-up over), while the request
// to run the script is written into its thread state: a request left
// earlier is lost when the interpreter sets up that state, and one left
// later misses the first lines. The stop is the probes' SIGURG, which this
// process, as the program's ptrace tracer, takes away; should the tool die
// first, the kernel detaches the program and SIGURG's default action is to
// be ignored, so it is never left stopped.
class LaunchHold {
 public:
  // Seizes `pid`, which has not exec'd yet (as root, before it drops its
  // privileges), and asks the probes to stop it at its first call.
  LaunchHold(pid_t pid, Probes& probes);
  ~LaunchHold();  // lets the program go if it is still held
  LaunchHold(const LaunchHold&) = delete;
  LaunchHold& operator=(const LaunchHold&) = delete;

  // Call while the program starts; true once the hold is over. `problem`
  // then says why no request was left, or is empty. Never waits, and never
  // reaps the program: its exit stays for whoever waits for it.
  bool try_request(const RemoteExecOffsets& offsets, const std::string& script, std::string& problem);

 private:
  void let_go(int signal);

  pid_t pid_;
  Probes& probes_;
  bool attached_ = false;
};

}  // namespace pytrace
