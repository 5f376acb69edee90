// SPDX-License-Identifier: MIT
// The balanced per-thread frame stream that call_stacks.cpp produces from
// raw records, and the code-object table it refers to.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/arguments.h"
#include "core/records.h"

namespace pytrace {

// What the kernel may leave out of a code object's calls (core/scope_verdicts.h).
enum class ScopeVerdict : uint8_t {
  kUnknown = 0,  // not judged (no filtering in the kernel): every call is kept
  kOut = 1,      // out of the scope: its calls from code out of the scope are left out
  kSend = 2,     // in the scope, or read by the tool: every call is kept
};

struct CodeInfo {
  std::string filename;   // co_filename: absolute path or a pseudo-name like <frozen os>
  std::string name;       // co_name
  std::string qualname;   // co_qualname, empty when unknown
  int first_lineno = -1;  // co_firstlineno, -1 when unknown
  CodeFlags flags;
  bool flags_known = false;  // false for a code object that could not be read
  std::vector<uint8_t> linetable;
  bool linetable_cut = false;
  ArgNames params;  // what argument values are called
  ScopeVerdict scope = ScopeVerdict::kUnknown;
};

// Code objects seen in a session, by the key the BPF program gave them.
// The key is the code object's address, in whichever process described it
// last: the BPF program keeps one description per address for all traced
// processes and describes an address again when a process's code there
// has other names (docs/probes.md), so the latest description is the one
// a call without a code record of its own refers to. Entries are never
// moved or removed, so pointers stay valid while the table lives; a reused
// key gets a new entry.
class CodeTable {
 public:
  const CodeInfo* add(uint64_t key, CodeInfo info);
  const CodeInfo* find(uint64_t key) const;
  // A stand-in for a key that was never described (its record was lost).
  const CodeInfo* unknown();
  size_t size() const { return codes_.size(); }

 private:
  std::deque<CodeInfo> codes_;
  std::unordered_map<uint64_t, const CodeInfo*> by_key_;
  const CodeInfo* unknown_ = nullptr;
};

// Where a call was made from: the calling code and the source lines of the
// instruction that made the call.
struct CallSite {
  const CodeInfo* code = nullptr;
  int line = 0;
  int end_line = 0;
};

struct FrameEnter {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t ts_ns = 0;
  const CodeInfo* code = nullptr;
  int line = 0;                       // first line for a fresh call, the resume line for a generator
  std::optional<CallSite> call_site;  // empty for a frame without a Python caller
  bool started_before_trace = false;  // already running when its thread was first seen
  uint32_t arguments = 0;             // its `arguments` text: index into an ArgumentTable (0: {})
};

struct FrameExit {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t ts_ns = 0;
  bool returned = true;  // false: closed without a return of its own
};

// A thread ended, with the name it ended with.
struct ThreadEnd {
  uint32_t pid = 0;
  uint32_t tid = 0;
  std::string name;
};

struct ImportEvent {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t ts_ns = 0;
  bool done = false;
  bool found = false;
  std::string module;
};

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void on_enter(const FrameEnter& enter) = 0;
  virtual void on_exit(const FrameExit& exit) = 0;
  virtual void on_import(const ImportEvent& event) = 0;
  // No event of this thread follows; its tid may be reused by a new one.
  virtual void on_thread_end(const ThreadEnd& /*end*/) {}
  // Whether a call of `callee` from `caller` (null: none known) may be
  // logged, so that its argument values are worth formatting.
  virtual bool may_log(const CodeInfo& /*callee*/, const CodeInfo* /*caller*/) { return true; }
};

}  // namespace pytrace
