// SPDX-License-Identifier: MIT
// Balanced frame stream -> the logged calls of the trace model.
//
// The seed's rules (docs/json-format.md): an in-scope frame is logged
// wherever it is called from; an out-of-scope frame is logged once, as
// external, when its immediate Python caller is in scope, and its own callees
// are not, unless they are in scope again. Dunders other than __init__ and
// __call__ and comprehension frames are transparent unless asked for, and
// --no-imports drops import entries; transparent frames still pass their
// children through. depth counts the logged in-scope frames open on the same
// thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/frames.h"
#include "core/scope.h"
#include "core/source_cache.h"
#include "core/trace_model.h"

namespace pytrace {

// The executed-lines script's callback for sys.monitoring LINE events, and
// what it calls when every tool id it could use is taken.
inline constexpr std::string_view kLineCallbackName = "__pytrace_line__";
inline constexpr std::string_view kNoLineToolIdName = "__pytrace_no_tool_id__";
// What it calls when it stops: the tool is gone, or its pipe was closed.
inline constexpr std::string_view kLinesEndedName = "__pytrace_lines_ended__";
// What it calls at the breakpoint's Nth hit in a process (trace_where).
inline constexpr std::string_view kBreakpointName = "__pytrace_breakpoint__";

struct FilterOptions {
  bool external_calls = true;
  bool imports = true;
  bool show_dunders = false;
  std::string main_file;  // absolute; its <module> is module_execution (so is any without a Python caller)
  // The script the tool has the program run to report executed lines: its
  // frames are the tool's, never logged, and each call of its line callback
  // is a line run by the frame below (empty: none).
  std::string line_script;
  // trace_where: a line of a file (absolute). The script's callback
  // reports its hits whether or not lines are tracked, and calls
  // kBreakpointName at the one whose stack is wanted.
  struct Breakpoint {
    std::vector<std::string> files;  // its file as given, and with links resolved
    int line = 0;
  };
  std::optional<Breakpoint> breakpoint;
  bool executed_lines = true;  // with line_script: record the scope's lines too
  uint64_t origin_ns = 0;      // CLOCK_MONOTONIC time that start_ns counts from
};

class CallFilter : public FrameSink {
 public:
  CallFilter(const Scope& scope, FilterOptions options, TraceModel& model, SourceCache& sources)
      : scope_(scope), options_(std::move(options)), model_(model), sources_(sources) {}

  void on_enter(const FrameEnter& enter) override;
  void on_exit(const FrameExit& exit) override;
  void on_import(const ImportEvent& event) override;
  void on_thread_end(const ThreadEnd& end) override;
  // Only calls into the scope and calls made from it are ever logged.
  bool may_log(const CodeInfo& callee, const CodeInfo* caller) override {
    if (callee.filename == options_.line_script) return false;
    return in_scope(&callee) || (caller && in_scope(caller));
  }

 private:
  struct Frame {
    const CodeInfo* code = nullptr;
    bool in_scope = false;
    std::optional<CallSite> call_site;  // where this frame was called from
    int64_t entry = -1;                 // its index in the thread's trace, -1 if not logged
    bool adds_depth = false;            // a logged in-scope frame
    uint32_t arguments = 0;             // its argument values (index into the argument texts)
  };
  struct Thread {
    int trace = -1;  // index in model_.threads, -1 until something is logged
    std::vector<Frame> stack;
    std::vector<int64_t> open_scope_entries;  // logged in-scope frames, outermost first
    std::vector<int64_t> open_entries;        // every logged frame, outermost first
    std::vector<int> imports;                 // modules being imported, innermost last
  };

  bool in_scope(const CodeInfo* code);
  void add_executed_line(Thread& thread, const FrameEnter& callback);
  void forget_line_starter(Thread& thread, const FrameEnter& script);
  void take_breakpoint_stack(const Thread& thread, const FrameEnter& callback);
  uint32_t& call_counter(const CodeInfo& code, int line);
  bool is_main_module(const CodeInfo& code, const FrameEnter& enter, const Thread& thread) const;
  std::optional<CallSite> site_in_scope(const Thread& thread, const FrameEnter& enter) const;
  ThreadTrace& trace_of(Thread& thread, const FrameEnter& enter);
  int module_index(const std::string& module);

  const Scope& scope_;
  FilterOptions options_;
  TraceModel& model_;
  SourceCache& sources_;
  std::map<uint32_t, Thread> threads_;  // live threads by tid
  std::unordered_map<const CodeInfo*, bool> in_scope_cache_;
  std::unordered_map<std::string, uint32_t> call_counts_;  // nodes: their values stay put
  struct CodeLineHash {
    size_t operator()(const std::pair<const CodeInfo*, int>& key) const {
      return std::hash<const void*>{}(key.first) ^ (static_cast<size_t>(key.second) * 0x9e3779b97f4a7c15ULL);
    }
  };
  std::unordered_map<std::pair<const CodeInfo*, int>, uint32_t*, CodeLineHash> counters_;
  std::unordered_map<std::string, int> module_indexes_;
};

}  // namespace pytrace
