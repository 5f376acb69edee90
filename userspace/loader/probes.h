// SPDX-License-Identifier: MIT
// The loaded BPF programs, their attachments and the ring buffer, as one
// RAII object: open -> configure -> load -> attach (per pid) -> poll -> drain.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/trace_model.h"
#include "loader/python_elf.h"

extern "C" {
#include "pytrace.h"
}

struct pytrace_bpf;
struct bpf_link;
struct ring_buffer;

namespace pytrace {

struct ProbeOptions {
  pt_python_offsets offsets{};  // how to read the interpreter's frames
  size_t ring_buffer_bytes = 0;
  bool tracepoints = false;   // the kernel has sched_process_fork/exit as BTF tracepoints
  bool follow_forks = false;  // trace what traced processes fork (needs the tracepoints)
};

class Probes {
 public:
  using RecordHandler = std::function<void(std::span<const std::byte>)>;

  // Loads the programs. Throws Error naming the step that failed and, for a
  // refused program, the verifier's reason.
  Probes(const ProbeOptions& options, RecordHandler handler);
  ~Probes();
  Probes(const Probes&) = delete;
  Probes& operator=(const Probes&) = delete;

  // Attaches the function and import probes of `elf` for process `pid`
  // only, or with -1 for every process that runs it (the programs let only
  // the traced processes through: what following forks needs).
  void attach(const PythonElf& elf, pid_t pid);

  // Traces process `pid` and, when forks are followed, the processes it
  // forks from now on (and theirs), which arrive as ProcessRecords.
  void trace(pid_t pid);
  bool follows_forks() const { return follows_forks_; }
  // Makes process `pid` note the thread state of its next Python call of
  // code from a file (its start is over then), and with `stop` signal
  // itself SIGURG there, once,
  // after noting its thread state (held_thread_state() then gives it): a
  // ptrace tracer of it gets the process stopped where the interpreter
  // runs (see loader/line_events.h). end_hold() forgets the request.
  void hold_at_first_call(pid_t pid, bool stop = true);
  uint64_t held_thread_state(pid_t pid) const;
  void end_hold(pid_t pid);
  // Why the tracepoint programs (forks, thread names) are missing, or "".
  const std::string& tracepoint_problem() const { return tracepoint_problem_; }

  // Lets the programs send records: call once every probe is attached (an
  // entry attached before its return would send calls that never return).
  void activate();

  // Waits `timeout_ms`, or less if `wake_fd` (e.g. the child's pidfd)
  // becomes readable or a record asks for a wake-up, then consumes what is
  // waiting. Records do not wake the reader (one wake-up per record would
  // double the cost of tracing), except code descriptions when the kernel
  // filters by scope: their verdicts are wanted soon.
  void poll(int timeout_ms, int wake_fd);
  // Consumes everything left in the ring buffer.
  void drain();

  // Filtering in the kernel (core/scope_verdicts.h): what userspace found
  // about the code described with number `description` at key `code`.
  void set_scope_verdict(uint64_t code, uint64_t description, ScopeVerdict scope);
  bool filters_by_scope() const { return filters_by_scope_; }

  ProbeStats stats() const;

  // Detaches the probes in a short-lived child process instead of making
  // the caller wait. Only for when the traced process has exited.
  void detach_in_background();

  // Shows everything libbpf says on stderr, and the verifier's statistics;
  // call before loading. Otherwise libbpf is quiet and a refused load is
  // reported once, with the verifier's reason.
  static void set_verbose(bool verbose);

 private:
  static int on_record(void* ctx, void* data, size_t size);
  // Opens and loads the programs; returns libbpf's error and, in `log`, what it said.
  int open_and_load(const ProbeOptions& options, bool tracepoints, std::string& log);

  struct SkeletonDeleter {
    void operator()(pytrace_bpf* skeleton) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* link) const;
  };
  struct RingDeleter {
    void operator()(ring_buffer* ring) const;
  };

  std::unique_ptr<pytrace_bpf, SkeletonDeleter> skeleton_;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  // Readable when a record asked for a wake-up (code descriptions, with
  // filtering in the kernel); edge-triggered, so the records sent without
  // one never make it readable.
  struct OwnedFd {
    int fd = -1;
    OwnedFd() = default;
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    ~OwnedFd();
  };
  OwnedFd wakeups_;
  RecordHandler handler_;
  bool follows_forks_ = false;
  bool filters_by_scope_ = false;
  uint64_t verdicts_not_kept_ = 0;  // the verdict map was full
  std::string tracepoint_problem_;
};

}  // namespace pytrace
