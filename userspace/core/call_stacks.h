// SPDX-License-Identifier: MIT
// Raw records -> a balanced stream of frame enters and exits, per thread.
//
// The probes do not pair up by themselves (docs/probes.md): creating a
// generator fires an entry that never returns, the interpreter's __init__
// shim fires returns without entries, a generator resumed by throw() or
// close() fires its return but no entry, an exception fires one return per
// frame it unwinds, and records can be lost. So every call is placed under
// the frame that made it (the caller's frame address comes with each
// record), returns close the frame they name, and what cannot be matched is
// counted in StackStats, never guessed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/frames.h"
#include "core/records.h"
#include "core/scope_verdicts.h"

namespace pytrace {

struct StackStats {
  uint64_t records = 0;
  uint64_t lost_records = 0;           // gaps in a thread's sequence numbers
  uint64_t unknown_code = 0;           // calls whose code record never arrived
  uint64_t unmatched_returns = 0;      // returns with no open frame to close
  uint64_t closed_without_return = 0;  // frames closed by an older frame's return
  uint64_t open_at_end = 0;            // frames still open when the trace ended
  uint64_t generator_creations = 0;    // creation entries, not calls: ignored
  uint64_t shim_returns = 0;           // returns of the __init__ shim: ignored
  uint64_t restored_resumes = 0;       // generator resumes without an entry probe, restored
  uint64_t running_frames = 0;         // frames already running when their thread was first seen
  uint64_t truncated_stacks = 0;       // threads whose running frames were too many to send
  uint64_t left_out = 0;               // records of calls left out (core/scope_verdicts.h) sent anyway
};

class CallStackBuilder {
 public:
  CallStackBuilder(CodeTable& codes, FrameSink& sink) : codes_(codes), sink_(sink) {}

  // Filtering in the kernel: each code is judged as its description
  // arrives, `on_verdict` is told (to hand the verdict to the kernel), and
  // the calls left_out() names, which the kernel sent before it knew, are
  // dropped. Without it every call is kept.
  using VerdictSink = std::function<void(uint64_t code, uint64_t description, ScopeVerdict)>;
  void filter_by_scope(const ScopeVerdicts* verdicts, VerdictSink on_verdict) {
    verdicts_ = verdicts;
    on_verdict_ = std::move(on_verdict);
  }

  void add(const Record& record);
  // Closes every frame still open (they never returned) at the thread's last
  // timestamp. Call once, after the last record.
  void finish();
  // Threads and processes whose state is held, for tests of what is let go.
  size_t threads_held() const { return threads_.size(); }
  size_t processes_held() const { return suspended_.size(); }

  const StackStats& stats() const { return stats_; }
  // The calls' `arguments` texts, which FrameEnter::arguments indexes.
  ArgumentTable take_argument_texts() { return std::move(arguments_); }

 private:
  using Event = std::variant<FrameEnter, FrameExit, ImportEvent>;
  struct OpenFrame {
    uint64_t frame;  // interpreter frame address, 0 if unread
    const CodeInfo* code;
    std::optional<size_t> queued_enter;  // restored frame whose call site is not known yet
  };
  struct ThreadState {
    uint32_t pid = 0;
    uint32_t tid = 0;
    uint64_t last_seq = 0;
    uint64_t last_ts = 0;
    std::vector<OpenFrame> stack;
    // Events held back while a restored frame waits for its call site,
    // which only its own return brings.
    std::vector<Event> queue;
    size_t waiting = 0;
  };

  ThreadState& thread_for(const RecordHeader& header);
  // The thread's open frames never returned; no record of it follows.
  void end_thread(ThreadState& thread, std::string name);
  void on_code(const CodeRecord& record);
  void on_call(ThreadState& thread, const FrameRecord& record);
  void on_return(ThreadState& thread, const FrameRecord& record);
  void on_stack(ThreadState& thread, const StackRecord& record);
  void place_under_caller(ThreadState& thread, const FrameRecord& record);
  void restore_frame(ThreadState& thread, uint64_t frame, const CodeInfo* code, int line, uint64_t ts,
                     std::optional<CallSite> site);
  void close_top(ThreadState& thread, uint64_t ts, bool returned, std::optional<CallSite> site = {});
  void emit(ThreadState& thread, Event event);
  std::optional<CallSite> site_at(uint64_t code_key, uint32_t instr) const;
  std::optional<CallSite> caller_site(const FrameRecord& record) const {
    return site_at(record.caller_code, record.caller_instr);
  }
  const CodeInfo* code_for(uint64_t key);
  // Filtering in the kernel: a call the kernel may have left out (null: not described).
  bool is_left_out(const CodeInfo* callee, const CodeInfo* caller) const;

  CodeTable& codes_;
  FrameSink& sink_;
  const ScopeVerdicts* verdicts_ = nullptr;
  VerdictSink on_verdict_;
  StackStats stats_;
  ArgumentTable arguments_;
  std::map<uint32_t, ThreadState> threads_;  // live threads by tid; ordered for a stable finish()
  // Per process, generator frames by address -> the line they last yielded
  // at, which is where a throw() resumes them. A forked process has its
  // parent's at the fork (the same generators, at the same addresses).
  std::unordered_map<uint32_t, std::unordered_map<uint64_t, int>> suspended_;
};

}  // namespace pytrace
