// SPDX-License-Identifier: MIT
// Raw records -> a balanced stream of frame enters and exits, per thread.
//
// The probes do not pair up by themselves (see docs/probes.md): creating a
// generator fires an entry that never returns, the interpreter's __init__
// shim fires returns without entries, an exception fires one return per
// frame it unwinds, and records can be lost. Returns are therefore matched
// to the open frame they close (by frame address), never by counting;
// whatever cannot be matched is counted in StackStats.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/frames.h"
#include "core/records.h"

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
};

class CallStackBuilder {
 public:
  CallStackBuilder(CodeTable& codes, FrameSink& sink) : codes_(codes), sink_(sink) {}

  void add(const Record& record);
  // Closes every frame still open (they never returned) at the thread's last
  // timestamp. Call once, after the last record.
  void finish();

  const StackStats& stats() const { return stats_; }

 private:
  struct OpenFrame {
    uint64_t frame;  // interpreter frame address, 0 if unread
    const CodeInfo* code;
  };
  struct ThreadState {
    uint32_t pid = 0;
    uint64_t last_seq = 0;
    uint64_t last_ts = 0;
    std::vector<OpenFrame> stack;
  };

  ThreadState& thread_for(const RecordHeader& header);
  void on_code(const CodeRecord& record);
  void on_call(ThreadState& thread, const CallRecord& record);
  void on_return(ThreadState& thread, const ReturnRecord& record);
  void close_top(ThreadState& thread, uint32_t tid, uint64_t ts, bool returned);
  const CodeInfo* code_for(uint64_t key);

  CodeTable& codes_;
  FrameSink& sink_;
  StackStats stats_;
  std::map<uint32_t, ThreadState> threads_;  // by tid; ordered for a stable finish()
};

}  // namespace pytrace
