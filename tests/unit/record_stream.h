// SPDX-License-Identifier: MIT
// Builds record streams as the BPF program would send them, for unit tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/frames.h"
#include "core/records.h"

namespace pytrace::testing {

// co_flags of a function's body, a generator function's, a class or module body's.
inline constexpr CodeFlags kFunction{.function = true};
inline constexpr CodeFlags kGenerator{.function = true, .generator = true};
inline constexpr CodeFlags kClassBody{};

// A line table (CPython 3.11+'s format) with one instruction per line of
// `lines`, in order: instruction i is on lines[i].
inline std::vector<uint8_t> linetable_of(int first_lineno, const std::vector<int>& lines) {
  std::vector<uint8_t> table;
  int previous = first_lineno;
  for (int line : lines) {
    table.push_back(0x80 | (13 << 3));  // one code unit, no columns
    int delta = line - previous;
    unsigned value = delta < 0 ? (static_cast<unsigned>(-delta) << 1) | 1 : static_cast<unsigned>(delta) << 1;
    for (; value >= 64; value >>= 6) table.push_back(static_cast<uint8_t>((value & 63) | 64));
    table.push_back(static_cast<uint8_t>(value));
    previous = line;
  }
  return table;
}

class RecordStream {
 public:
  explicit RecordStream(uint32_t pid = 100) : pid_(pid) {}

  // Switches the thread that the following records come from.
  RecordStream& on_thread(uint32_t tid) {
    tid_ = tid;
    return *this;
  }

  // Switches the process (and its main thread) the following records come from.
  RecordStream& on_process(uint32_t pid) {
    pid_ = pid;
    tid_ = pid;
    return *this;
  }

  // The current thread forks process `child`. The child goes on inside
  // the frames it was forked in; its first records send them as running().
  RecordStream& fork(uint32_t child) {
    ProcessRecord rec;
    rec.header = next_header();
    rec.child_pid = child;
    records.emplace_back(std::move(rec));
    return *this;
  }

  // The current thread ends; `last` when it is its process's last.
  RecordStream& thread_exit(const std::string& name, bool last = false) {
    ThreadExitRecord rec;
    rec.header = next_header();
    rec.name = name;
    rec.process_ended = last;
    records.emplace_back(std::move(rec));
    stacks_.erase(tid_);
    seq_.erase(tid_);  // a new thread with this tid numbers from 1
    return *this;
  }

  // Describes a code object; returns its key.
  uint64_t code(const std::string& file, const std::string& name, int first_lineno,
                CodeFlags flags = kFunction, const std::string& qualname = "",
                std::vector<uint8_t> linetable = {}) {
    CodeRecord rec;
    rec.header = next_header();
    rec.code = next_code_ += 0x100;
    rec.first_lineno = first_lineno;
    rec.flags = flags;
    rec.filename = file;
    rec.name = name;
    rec.qualname = qualname.empty() ? name : qualname;
    rec.linetable = std::move(linetable);
    records.emplace_back(std::move(rec));
    return rec.code;
  }

  // Names the parameters of the code object described last.
  RecordStream& params(std::vector<std::string> names) {
    auto& rec = std::get<CodeRecord>(records.back());
    rec.arg_count = static_cast<uint32_t>(names.size());
    rec.arg_names = std::move(names);
    return *this;
  }

  // Makes the call recorded last come from instruction `instr` of its caller.
  RecordStream& at_instruction(uint32_t instr) {
    std::get<FrameRecord>(records.back()).caller_instr = instr;
    return *this;
  }

  // Gives the call recorded last its argument values.
  RecordStream& with_args(std::vector<ArgValue> values) {
    std::get<FrameRecord>(records.back()).args = std::move(values);
    return *this;
  }

  // A call made by the innermost open frame of the current thread.
  RecordStream& enter(uint64_t code, int lineno, FrameNote note = FrameNote::kNone) {
    auto& stack = stacks_[tid_];
    FrameRecord rec = frame_record(false, code, next_frame_ += 0x40, lineno, note);
    records.emplace_back(std::move(rec));
    if (note != FrameNote::kGeneratorCreation) stack.push_back({rec.frame, code});
    return *this;
  }

  // The innermost open frame returns.
  RecordStream& leave(int lineno = 0) {
    auto& stack = stacks_[tid_];
    Open top = stack.back();
    stack.pop_back();
    records.push_back(frame_record(true, top.code, top.frame, lineno));
    return *this;
  }

  // A return of a frame the stream never entered.
  RecordStream& stray_return(uint64_t code, uint64_t frame, FrameNote note = FrameNote::kNone) {
    records.push_back(frame_record(true, code, frame, 0, note));
    return *this;
  }

  // Re-enters a frame by address (a generator resume), under the innermost frame.
  RecordStream& resume(uint64_t code, uint64_t frame, int lineno) {
    auto& stack = stacks_[tid_];
    records.push_back(frame_record(false, code, frame, lineno));
    stack.push_back({frame, code});
    return *this;
  }

  // A frame starts running without an entry probe (a generator resumed by
  // throw() or close()): later records see it as the innermost frame.
  RecordStream& run_without_entry(uint64_t code, uint64_t frame) {
    stacks_[tid_].push_back({frame, code});
    return *this;
  }

  // The innermost frame ends without a record of it.
  RecordStream& forget_frame() {
    stacks_[tid_].pop_back();
    return *this;
  }

  // The innermost frame's return is lost.
  RecordStream& lose_return() { return forget_frame().lose(1); }

  // The frames the current thread was running when first seen, outermost
  // first: they open its stack (attaching to a running process).
  RecordStream& running(const std::vector<uint64_t>& codes, uint32_t instr = 0) {
    StackRecord rec;
    rec.header = next_header();
    auto& stack = stacks_[tid_];
    for (uint64_t code : codes) stack.push_back({next_frame_ += 0x40, code});
    for (auto it = stack.rbegin(); it != stack.rend(); ++it)
      rec.frames.push_back({it->frame, it->code, instr});
    records.emplace_back(std::move(rec));
    return *this;
  }

  RecordStream& import(const std::string& module, bool done) {
    ImportRecord rec;
    rec.header = next_header();
    rec.done = done;
    rec.found = 1;
    rec.module = module;
    records.emplace_back(std::move(rec));
    return *this;
  }

  // Makes the next record of this thread look as if `count` were lost.
  RecordStream& lose(uint64_t count) {
    seq_[tid_] += count;
    return *this;
  }

  uint64_t top_frame() const { return stacks_.at(tid_).back().frame; }
  uint64_t last_frame() const { return next_frame_; }

  // The time origin the builder should count from.
  static constexpr uint64_t kOrigin = 1000;

  std::vector<Record> records;

 private:
  struct Open {
    uint64_t frame;
    uint64_t code;
  };

  RecordHeader next_header() {
    ts_ += 10;
    return RecordHeader{pid_, tid_, ++seq_[tid_], ts_};
  }

  FrameRecord frame_record(bool is_return, uint64_t code, uint64_t frame, int lineno,
                           FrameNote note = FrameNote::kNone) {
    FrameRecord rec;
    rec.header = next_header();
    rec.note = note;
    rec.is_return = is_return;
    rec.code = code;
    rec.frame = frame;
    rec.lineno = lineno;
    const auto& stack = stacks_[tid_];
    // The caller is the innermost open frame; for a return that is the
    // frame below the returning one, which has already been popped.
    if (!stack.empty()) {
      rec.caller_frame = stack.back().frame;
      rec.caller_code = stack.back().code;
    }
    return rec;
  }

  uint32_t pid_;
  uint32_t tid_ = 100;
  uint64_t ts_ = kOrigin;
  uint64_t next_code_ = 0x10000;
  uint64_t next_frame_ = 0x7f0000;
  std::map<uint32_t, uint64_t> seq_;
  std::map<uint32_t, std::vector<Open>> stacks_;
};

}  // namespace pytrace::testing
