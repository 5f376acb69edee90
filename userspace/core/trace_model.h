// SPDX-License-Identifier: MIT
// The logged calls of a session, per thread, and what is known about the run.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/call_stacks.h"
#include "core/frames.h"
#include "core/patterns.h"
#include "core/spill.h"

namespace pytrace {

// The seed's categories (docs/json-format.md says how each is decided).
enum class CallType : uint8_t {
  kFunctionCall,
  kMethod,
  kClassMethod,
  kClassInstantiation,
  kClassDeclaration,
  kSpecialMethod,
  kCallableObject,
  kLambdaFunction,
  kModuleExecution,
  kImport,
  kExternalCall,
  kComprehension,
};

std::string_view call_type_name(CallType type);

// One logged call. Traces hold millions: the fields are ordered to pack
// (96 bytes).
struct TraceEntry {
  const CodeInfo* code = nullptr;  // null for a test entry
  // Where the parent location points: the immediate caller's call site, or
  // with --no-external-calls the nearest in-scope ancestor's. Empty for a
  // frame without a Python caller.
  std::optional<CallSite> parent_site;
  uint64_t start_ns = 0;                // since the session's origin
  std::optional<uint64_t> duration_ns;  // empty when the call never returned
  int64_t parent = -1;                  // index in the same thread of the nearest logged in-scope ancestor
  int test = -1;                        // a test entry: index into TraceModel::tests
  int line = 0;                         // 0 for module bodies
  int depth = 0;
  int importing = -1;            // index into TraceModel::modules, -1 if no import was running
  uint32_t number_of_calls = 0;  // 0: the key is absent (seed rule)
  uint32_t arguments = 0;        // index into TraceModel::argument_texts
  // How many entries back its caller is: the nearest logged ancestor, in
  // scope or not (an in-scope callback of a library call has the library
  // call as caller and the in-scope code that made it as parent); 0: none.
  uint32_t caller_back = 0;
  CallType call_type = CallType::kFunctionCall;
  bool is_external = false;
  bool started_before_trace = false;  // running when tracing began; start_ns is when first seen
};

// The module an import entry imports (index into TraceModel::modules), or
// -1: only _find_and_load and a module's body say which module it is; any
// other frame of the import machinery runs within some import, but the
// import probes name the outer one (a `from . import x` in a module body
// runs _handle_fromlist while that module is being imported).
inline int imported_module(const TraceEntry& entry) {
  if (entry.call_type != CallType::kImport || entry.importing < 0 || !entry.code) return -1;
  return entry.code->name == "_find_and_load" || entry.code->name == "<module>" ? entry.importing : -1;
}

// Index in its thread of entry `i`'s caller, -1 for none.
// A thread's entries: in chunks of the spill file (core/spill.h).
using EntryStore = ChunkedStore<TraceEntry>;

inline int64_t caller_of(const EntryStore& entries, size_t i) {
  return entries[i].caller_back ? static_cast<int64_t>(i - entries[i].caller_back) : -1;
}

// A test of a pytest run (trace_pytest), standing over the calls it made.
struct TestInfo {
  std::string nodeid;
  std::string file;
  int line = 0;
  std::string outcome;
};

// A line that ran in an in-scope frame (--track-executed-lines), in its
// place among the thread's calls: after `before` of its entries.
struct ExecutedLine {
  const CodeInfo* code = nullptr;
  int line = 0;
  uint32_t before = 0;
  int64_t call = -1;  // the entry of the call that ran it (its frame, or the nearest logged one in scope)
};

struct ThreadTrace {
  uint32_t pid = 0;
  uint32_t tid = 0;
  std::string name;  // the kernel's name for the thread (Python sets it to the Thread's name), if known
  // Pre-order: parents before children. Chunks grow without copying, so a
  // trace of 10^7 calls never holds two copies of itself.
  EntryStore entries;
  std::vector<PatternGroup> patterns;        // repeated calls, when grouping ran
  std::vector<ExecutedLine> executed_lines;  // in the order they ran
};

// Counters the BPF program kept (struct pt_stats).
struct ProbeStats {
  uint64_t ringbuf_drops = 0;
  uint64_t tstate_misses = 0;
  uint64_t frame_mismatches = 0;
  uint64_t scratch_busy = 0;        // code or stack descriptions not sent
  uint64_t untraced_processes = 0;  // children not traced: too many processes at once
  uint64_t hits_left_out = 0;       // probe hits the scope verdicts left out in the kernel
  uint64_t verdicts_not_kept = 0;   // verdicts the kernel's map had no room for (those codes are all sent)
};

struct SessionInfo {
  std::string original_command;
  std::string scope_path;                // the first scope directory (the seed's key)
  std::vector<std::string> scope_paths;  // all of them
  std::string main_file;                 // empty when there is none (pytest, attach)
  std::string python_executable;
  std::string python_version;
  uint32_t pid = 0;
  std::string start_time;  // ISO 8601 with offset
  std::string end_time;
  uint64_t duration_ns = 0;
  std::optional<int> exit_code;  // of a launched program
  std::string signal;            // the signal that ended it, e.g. "SIGKILL"; empty if none
  bool interrupted = false;      // the user stopped the session with Ctrl-C (SIGINT)
  bool attached = false;         // the process was running before tracing began
  std::string end_reason;        // attach: "exited", "interrupted", "stopped" or "duration"
  bool external_calls = true;
  bool imports = true;
  bool show_dunders = false;
  bool arg_values = true;              // argument values were captured
  bool executed_lines = false;         // --track-executed-lines
  std::string executed_lines_problem;  // why they are missing, if they are
};

// trace_where: the stack of the thread that reached the breakpoint the
// Nth time in its process (the first process to), outermost frame first.
struct BreakpointHit {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t ts_ns = 0;  // since the session's origin
  std::string test;    // trace_where_pytest: the node id of the test it happened in, "" if none
  struct Frame {
    const CodeInfo* code = nullptr;
    int line = 0;                       // its current line: the breakpoint's, or where it called the next
    std::optional<CallSite> call_site;  // where it was called from
    uint32_t arguments = 0;             // its argument values at its start (index into argument_texts)
    bool in_scope = false;
  };
  std::vector<Frame> frames;
};

struct TraceModel {
  SessionInfo session;
  // trace_where: the breakpoint's hits (all processes), and the Nth hit's stack.
  uint64_t breakpoint_hits = 0;
  std::optional<BreakpointHit> breakpoint_hit;
  // The executed-lines script: it ran, found no sys.monitoring tool id
  // free, stopped before the program ended (its pipe to the tool closed).
  bool line_script_ran = false;
  bool line_tool_ids_taken = false;
  bool line_tracking_ended = false;
  CodeTable codes;
  std::vector<ThreadTrace> threads;  // in order of their first logged call
  std::vector<std::string> modules;  // names referenced by TraceEntry::importing
  std::vector<TestInfo> tests;       // referenced by TraceEntry::test
  // The `arguments` objects as JSON text; 0 is {}.
  ArgumentTable argument_texts;
  struct Process {
    uint32_t pid = 0;
    uint32_t parent_pid = 0;  // 0 for the process the session started with
    bool ended = false;       // its last thread exited while traced
  };
  std::vector<Process> processes;  // in the order they were seen
  std::vector<bool> scopes_used;   // per scope root: some code ran there (short if the last were not)
  StackStats stack_stats;
  ProbeStats probe_stats;
  bool scope_filter = false;  // calls that cannot be logged were left out (core/scope_verdicts.h)
  uint64_t malformed_records = 0;

  std::optional<PatternOptions> pattern_options;  // set once patterns were looked for

  size_t total_entries() const;
  // Groups repeated calls in every thread (patterns.h): calls of the same
  // name at the same location are alike; tests are alike only to themselves.
  void find_patterns(const PatternOptions& options);
};

}  // namespace pytrace
