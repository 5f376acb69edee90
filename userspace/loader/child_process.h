// SPDX-License-Identifier: MIT
// Starting the traced program so that it runs no code before the probes are
// attached: fork, let the child block on a pipe, attach, then let it exec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pytrace {

struct RunAs {
  uid_t uid;
  gid_t gid;
};

// The supplementary groups of `who`, as a login gives them. Not
// async-signal-safe: look them up before fork.
std::vector<gid_t> groups_of(const RunAs& who);

// Takes the identity of `who` for good (groups, then group, then user).
// Async-signal-safe: for a child between fork and exec. False, with errno,
// when a step fails.
bool become(const RunAs& who, const std::vector<gid_t>& groups);

// Exit status in shell terms: the exit code, or 128 + signal number.
int exit_code_of(int wait_status);

class GatedChild {
 public:
  // Forks. The child waits until release(); then it drops to `run_as` (when
  // given) and execs argv[0] with `env`, keeping `inherited_fds` open and
  // `unblocked_signals` out of the signal mask it would inherit.
  GatedChild(std::vector<std::string> argv, std::vector<std::string> env, std::optional<RunAs> run_as,
             const std::vector<int>& inherited_fds = {}, const std::vector<int>& unblocked_signals = {});
  ~GatedChild();  // kills and reaps a child that was not waited for
  GatedChild(const GatedChild&) = delete;
  GatedChild& operator=(const GatedChild&) = delete;

  pid_t pid() const { return pid_; }
  // A pidfd that becomes readable when the child exits.
  int exit_fd() const { return pidfd_; }

  // Lets the child exec. Throws Error if exec fails (with the child's errno).
  void release();
  // The exit code if the child has exited (128 + N when signal N killed
  // it); never blocks.
  std::optional<int> poll_exit();
  // The signal that killed the child, 0 if it exited (an exit code of 137
  // is not SIGKILL).
  int term_signal() const { return signal_; }
  int wait();
  void kill_now();

 private:
  pid_t pid_ = -1;
  int gate_fd_ = -1;        // write end: one byte releases the child
  int exec_error_fd_ = -1;  // read end: the child's errno if exec failed
  int pidfd_ = -1;
  void record_exit(int wait_status);

  std::optional<int> exit_code_;
  int signal_ = 0;
  std::string program_;
};

// Runs a command to completion as `run_as` (when given), capturing its
// stdout; with `env` (NAME=VALUE...) as its environment, else this
// process's. Throws Error when it cannot be started, times out or exits
// non-zero (with its stderr).
std::string run_and_capture(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                            std::optional<RunAs> run_as, const std::vector<std::string>* env = nullptr);

}  // namespace pytrace
