// SPDX-License-Identifier: MIT
// The whole pure pipeline behind one object:
// bytes -> decoder -> per-thread call stacks -> filters -> trace model.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <span>

#include "core/call_filter.h"
#include "core/call_stacks.h"
#include "core/records.h"
#include "core/scope.h"
#include "core/source_cache.h"
#include "core/thread_names.h"
#include "core/trace_model.h"

namespace pytrace {

class TraceBuilder {
 public:
  TraceBuilder(const Scope& scope, FilterOptions options, SourceCache& sources);

  // Judges each code object's calls for filtering in the kernel, hands
  // the verdicts to `sink` and drops the calls they leave out that the
  // kernel sent before it knew (core/scope_verdicts.h). Call before the
  // first record.
  void filter_by_scope(CallStackBuilder::VerdictSink sink);

  // One ring-buffer record; malformed ones are counted and skipped.
  void add_bytes(std::span<const std::byte> bytes);
  void add(const Record& record);

  // The process the session started with (listed first in the model).
  void set_root_process(uint32_t pid);
  // The traced processes that have not ended, and one found gone without
  // its end record (lost with a full ring buffer).
  std::vector<uint32_t> running_processes() const;
  void mark_ended(uint32_t pid);

  // Threads that sent records and have not ended: tid -> pid. Threads
  // that ended named themselves; these are named by the caller.
  const std::map<uint32_t, uint32_t>& live_threads() const { return live_threads_; }
  void set_thread_name(uint32_t tid, std::string name) { live_names_[tid] = std::move(name); }

  // How far the trace has come, for a progress line.
  struct Progress {
    uint64_t records = 0;  // records read
    uint64_t lost = 0;     // records missing from the sequences so far
    uint64_t calls = 0;    // calls logged
  };
  Progress progress() const {
    return {stacks_.stats().records, stacks_.stats().lost_records, model_->total_entries()};
  }

  // trace_where: the stack at the breakpoint has been taken.
  bool breakpoint_taken() const { return model_->breakpoint_hit.has_value(); }

  // Closes what is still open and hands over the model. Call once.
  std::unique_ptr<TraceModel> finish();

 private:
  std::unique_ptr<TraceModel> model_;
  std::map<uint32_t, uint32_t> live_threads_;
  std::map<uint32_t, std::string> live_names_;
  std::string line_script_;  // FilterOptions::line_script
  ScopeVerdicts verdicts_;
  CallFilter filter_;
  CallStackBuilder stacks_;
  ThreadNames names_;
};

}  // namespace pytrace
