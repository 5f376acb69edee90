// SPDX-License-Identifier: MIT
// The records the BPF program sends, as the decoder hands them on: plain
// C++ values. The wire format (bpf/pytrace.h) stops at the decoder.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/arguments.h"

namespace pytrace {

struct RecordHeader {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t seq = 0;
  uint64_t ts_ns = 0;
};

// What a code object's co_flags say, as far as the trace needs them.
struct CodeFlags {
  bool function = false;     // CO_OPTIMIZED: a function's body, not a module's or a class's
  bool generator = false;    // a generator, coroutine or async generator function
  bool varargs = false;      // it has a *args parameter
  bool varkeywords = false;  // it has a **kwargs parameter
};

struct CodeRecord {
  RecordHeader header;
  uint64_t code = 0;
  uint64_t description = 0;   // the BPF side's number for this description (scope verdicts)
  int32_t first_lineno = -1;  // -1 when the code object could not be read
  CodeFlags flags;            // all false when it could not be read
  std::string filename;
  std::string name;
  std::string qualname;
  std::vector<uint8_t> linetable;
  bool linetable_cut = false;  // the interpreter's table was longer
  uint32_t arg_count = 0;      // the code's parameters, 0 when unknown
  uint32_t kwonly_count = 0;   // of them keyword-only
  std::vector<std::string> arg_names;
};

// A frame whose call or return is not one of the program's calls.
enum class FrameNote : uint8_t {
  kNone,
  kGeneratorCreation,  // the entry of a frame that only creates a generator: it never returns
  kInitShim,           // the return of the interpreter's hidden __init__ frame, which has no entry
};

// A call or a return, with the calling frame.
struct FrameRecord {
  RecordHeader header;
  bool is_return = false;
  FrameNote note = FrameNote::kNone;
  bool frame_unread = false;  // the frame could not be read: `code` is a key made from its names
  uint64_t code = 0;
  uint64_t frame = 0;
  uint64_t caller_frame = 0;
  uint64_t caller_code = 0;
  uint32_t caller_instr = 0;
  int32_t lineno = -1;
  std::vector<ArgValue> args;  // a call's argument values, when they were read
};

struct ImportRecord {
  RecordHeader header;
  bool done = false;  // import__find__load__done, else __start
  int32_t found = 0;
  std::string module;
};

// The frames a thread was running when it was first seen.
struct StackRecord {
  struct Frame {
    uint64_t frame = 0;
    uint64_t code = 0;
    uint32_t instr = 0;
  };
  RecordHeader header;
  std::vector<Frame> frames;  // innermost first
  bool truncated = false;     // older frames did not fit
};

// A traced process forked; the new one is traced too.
struct ProcessRecord {
  RecordHeader header;  // the forking thread
  uint32_t child_pid = 0;
};

// A thread ends, with the name it ended with.
struct ThreadExitRecord {
  RecordHeader header;
  std::string name;
  bool process_ended = false;  // it was the process's last thread
};

using Record =
    std::variant<CodeRecord, FrameRecord, ImportRecord, StackRecord, ProcessRecord, ThreadExitRecord>;

inline const RecordHeader& header_of(const Record& record) {
  return std::visit([](const auto& r) -> const RecordHeader& { return r.header; }, record);
}

}  // namespace pytrace
