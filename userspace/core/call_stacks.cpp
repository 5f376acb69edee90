// SPDX-License-Identifier: MIT
#include "core/call_stacks.h"

#include <type_traits>

#include "core/linetable.h"

extern "C" {
#include "pytrace.h"
}

namespace pytrace {

void CallStackBuilder::add(const Record& record) {
  ++stats_.records;
  if (const auto* code = std::get_if<CodeRecord>(&record)) {
    thread_for(code->header);
    on_code(*code);
    return;
  }
  ThreadState& thread = thread_for(header_of(record));
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, CallRecord>) {
          on_call(thread, r);
        } else if constexpr (std::is_same_v<T, ReturnRecord>) {
          on_return(thread, r);
        } else if constexpr (std::is_same_v<T, ImportRecord>) {
          sink_.on_import(
              ImportEvent{r.header.pid, r.header.tid, r.header.ts_ns, r.done, r.found != 0, r.module});
        }
      },
      record);
}

CallStackBuilder::ThreadState& CallStackBuilder::thread_for(const RecordHeader& header) {
  ThreadState& thread = threads_[header.tid];
  thread.pid = header.pid;
  if (thread.last_seq != 0 && header.seq > thread.last_seq + 1) {
    stats_.lost_records += header.seq - thread.last_seq - 1;
  }
  if (header.seq > thread.last_seq) thread.last_seq = header.seq;
  if (header.ts_ns > thread.last_ts) thread.last_ts = header.ts_ns;
  return thread;
}

void CallStackBuilder::on_code(const CodeRecord& record) {
  CodeInfo info;
  info.filename = record.filename;
  info.name = record.name;
  info.qualname = record.qualname;
  info.first_lineno = record.first_lineno;
  info.flags = record.code_flags;
  info.flags_known = !(record.header.flags & PT_FRAME_UNREAD) && record.first_lineno >= 0;
  info.linetable = record.linetable;
  info.linetable_cut = record.linetable_cut;
  codes_.add(record.code, std::move(info));
}

const CodeInfo* CallStackBuilder::code_for(uint64_t key) {
  if (const CodeInfo* code = codes_.find(key)) return code;
  ++stats_.unknown_code;
  return codes_.unknown();
}

void CallStackBuilder::on_call(ThreadState& thread, const CallRecord& record) {
  if (record.header.flags & PT_FRAME_GEN_CREATE) {
    ++stats_.generator_creations;
    return;
  }
  const CodeInfo* code = code_for(record.code);

  FrameEnter enter;
  enter.pid = record.header.pid;
  enter.tid = record.header.tid;
  enter.ts_ns = record.header.ts_ns;
  enter.code = code;
  // The probe's line is the current line: the def line on a fresh call, the
  // resume line for a generator. It is -1 for frames that begin with
  // MAKE_CELL or COPY_FREE_VARS, which have no line; co_firstlineno then.
  enter.line = record.lineno > 0 ? record.lineno : std::max(code->first_lineno, 0);

  if (record.caller_code != 0) {
    if (const CodeInfo* caller = codes_.find(record.caller_code)) {
      CallSite site{caller, 0, 0};
      if (auto span = line_for_instruction(caller->linetable, caller->first_lineno, record.caller_instr)) {
        site.line = span->line;
        site.end_line = span->end_line;
      }
      enter.call_site = site;
    }
  } else if (!thread.stack.empty() && (record.header.flags & PT_FRAME_UNREAD)) {
    // The frame was not read, so neither was its caller: name the caller
    // from the stack, without a line.
    enter.call_site = CallSite{thread.stack.back().code, 0, 0};
  }

  thread.stack.push_back(OpenFrame{record.frame, code});
  sink_.on_enter(enter);
}

void CallStackBuilder::on_return(ThreadState& thread, const ReturnRecord& record) {
  if (record.header.flags & PT_FRAME_SHIM) {
    ++stats_.shim_returns;
    return;
  }
  // The frame this return closes: by address when both sides were read,
  // else by code object.
  const CodeInfo* code = codes_.find(record.code);
  auto closes = [&](const OpenFrame& open) {
    if (record.frame != 0 && open.frame != 0) return open.frame == record.frame;
    return code != nullptr && open.code->filename == code->filename && open.code->name == code->name;
  };
  for (size_t i = thread.stack.size(); i-- > 0;) {
    if (!closes(thread.stack[i])) continue;
    while (thread.stack.size() > i + 1) {
      ++stats_.closed_without_return;
      close_top(thread, record.header.tid, record.header.ts_ns, false);
    }
    close_top(thread, record.header.tid, record.header.ts_ns, true);
    return;
  }
  ++stats_.unmatched_returns;
}

void CallStackBuilder::close_top(ThreadState& thread, uint32_t tid, uint64_t ts, bool returned) {
  thread.stack.pop_back();
  sink_.on_exit(FrameExit{thread.pid, tid, ts, returned});
}

void CallStackBuilder::finish() {
  for (auto& [tid, thread] : threads_) {
    while (!thread.stack.empty()) {
      ++stats_.open_at_end;
      close_top(thread, tid, thread.last_ts, false);
    }
  }
}

}  // namespace pytrace
