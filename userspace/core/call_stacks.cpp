// SPDX-License-Identifier: MIT
#include "core/call_stacks.h"

#include <algorithm>

#include "core/linetable.h"

namespace pytrace {

void CallStackBuilder::add(const Record& record) {
  ++stats_.records;
  ThreadState& thread = thread_for(header_of(record));
  if (const auto* code = std::get_if<CodeRecord>(&record)) {
    on_code(*code);
  } else if (const auto* frame = std::get_if<FrameRecord>(&record)) {
    if (frame->is_return) {
      on_return(thread, *frame);
    } else {
      on_call(thread, *frame);
    }
  } else if (const auto* stack = std::get_if<StackRecord>(&record)) {
    on_stack(thread, *stack);
  } else if (const auto* import = std::get_if<ImportRecord>(&record)) {
    emit(thread, ImportEvent{import->header.pid, import->header.tid, import->header.ts_ns, import->done,
                             import->found != 0, import->module});
  } else if (const auto* process = std::get_if<ProcessRecord>(&record)) {
    // The child has its parent's generators, at the same addresses.
    auto parent = suspended_.find(process->header.pid);
    if (parent != suspended_.end()) {
      auto inherited = parent->second;  // copied first: inserting may rehash
      suspended_[process->child_pid] = std::move(inherited);
    } else {
      suspended_.erase(process->child_pid);
    }
  } else if (const auto* exit = std::get_if<ThreadExitRecord>(&record)) {
    uint32_t pid = thread.pid;
    end_thread(thread, exit->name);
    if (exit->process_ended) suspended_.erase(pid);  // its pid may be reused by an unrelated process
  }
}

// A thread's records come in order, numbered from 1. A number that goes
// back is a new thread that got the tid of one that ended unseen (its end
// record was lost): the old one ends here.
CallStackBuilder::ThreadState& CallStackBuilder::thread_for(const RecordHeader& header) {
  auto it = threads_.find(header.tid);
  if (it != threads_.end() && header.seq != 0 && header.seq <= it->second.last_seq) {
    end_thread(it->second, "");
    it = threads_.end();
  }
  if (it == threads_.end()) it = threads_.emplace(header.tid, ThreadState{}).first;
  ThreadState& thread = it->second;
  thread.pid = header.pid;
  thread.tid = header.tid;
  if (header.seq != 0) {  // 0: a process's end, sent by a thread that had no numbers
    if (thread.last_seq != 0 && header.seq > thread.last_seq + 1)
      stats_.lost_records += header.seq - thread.last_seq - 1;
    thread.last_seq = std::max(thread.last_seq, header.seq);
  }
  thread.last_ts = std::max(thread.last_ts, header.ts_ns);
  return thread;
}

void CallStackBuilder::end_thread(ThreadState& thread, std::string name) {
  while (!thread.stack.empty()) {
    ++stats_.open_at_end;
    close_top(thread, thread.last_ts, false);
  }
  sink_.on_thread_end(ThreadEnd{thread.pid, thread.tid, std::move(name)});
  threads_.erase(thread.tid);
}

void CallStackBuilder::on_code(const CodeRecord& record) {
  CodeInfo info;
  info.filename = record.filename;
  info.name = record.name;
  info.qualname = record.qualname;
  info.first_lineno = record.first_lineno;
  info.flags = record.flags;
  info.flags_known = record.first_lineno >= 0;
  info.linetable = record.linetable;
  info.linetable_cut = record.linetable_cut;
  info.params.count = record.arg_count;
  info.params.keyword_only = record.kwonly_count;
  info.params.names = record.arg_names;
  info.params.varargs = record.flags.varargs;
  info.params.varkeywords = record.flags.varkeywords;
  // Synthetic keys (odd: frames that could not be read) are never left out.
  bool judged = verdicts_ && !(record.code & 1);
  if (judged) info.scope = verdicts_->verdict(info);
  codes_.add(record.code, std::move(info));
  if (judged && on_verdict_) on_verdict_(record.code, record.description, codes_.find(record.code)->scope);
}

bool CallStackBuilder::is_left_out(const CodeInfo* callee, const CodeInfo* caller) const {
  return verdicts_ && callee && left_out(*callee, caller);
}

const CodeInfo* CallStackBuilder::code_for(uint64_t key) {
  if (const CodeInfo* code = codes_.find(key)) return code;
  ++stats_.unknown_code;
  return codes_.unknown();
}

std::optional<CallSite> CallStackBuilder::site_at(uint64_t code_key, uint32_t instr) const {
  if (code_key == 0) return std::nullopt;
  const CodeInfo* caller = codes_.find(code_key);
  if (!caller) return std::nullopt;
  CallSite site{caller, 0, 0};
  if (auto span = line_for_instruction(caller->linetable, caller->first_lineno, instr)) {
    site.line = span->line;
    site.end_line = span->end_line;
  }
  return site;
}

void CallStackBuilder::emit(ThreadState& thread, Event event) {
  if (thread.waiting > 0) {
    thread.queue.push_back(std::move(event));
    return;
  }
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, FrameEnter>) sink_.on_enter(e);
        if constexpr (std::is_same_v<T, FrameExit>) sink_.on_exit(e);
        if constexpr (std::is_same_v<T, ImportEvent>) sink_.on_import(e);
      },
      event);
}

// Frames run on the thread's stack in call order, so the record's caller
// must be the innermost open frame. If it is further out, the frames above
// it ended without a return we saw. If it is a suspended generator, it is
// running without an entry probe: resumed by throw() or close(). Any other
// caller that is not open (its entry was lost or not read) is left alone.
void CallStackBuilder::place_under_caller(ThreadState& thread, const FrameRecord& record) {
  if (record.caller_frame == 0) return;
  for (size_t i = thread.stack.size(); i-- > 0;) {
    if (thread.stack[i].frame != record.caller_frame) continue;
    while (thread.stack.size() > i + 1) {
      ++stats_.closed_without_return;
      close_top(thread, record.header.ts_ns, false);
    }
    return;
  }
  auto& suspended = suspended_[thread.pid];
  auto yielded = suspended.find(record.caller_frame);
  if (yielded == suspended.end()) return;
  restore_frame(thread, record.caller_frame, code_for(record.caller_code), yielded->second,
                record.header.ts_ns, std::nullopt);
}

void CallStackBuilder::restore_frame(ThreadState& thread, uint64_t frame, const CodeInfo* code, int line,
                                     uint64_t ts, std::optional<CallSite> site) {
  ++stats_.restored_resumes;
  suspended_[thread.pid].erase(frame);
  FrameEnter enter{thread.pid, thread.tid, ts, code, line, site};
  OpenFrame open{frame, code, std::nullopt};
  if (!site) {
    // Hold this and everything after it until the frame's return, which
    // carries its caller.
    ++thread.waiting;
    open.queued_enter = thread.queue.size();
    thread.queue.push_back(enter);
  } else {
    emit(thread, enter);
  }
  thread.stack.push_back(open);
}

void CallStackBuilder::on_call(ThreadState& thread, const FrameRecord& record) {
  if (record.note == FrameNote::kGeneratorCreation) {
    ++stats_.generator_creations;
    return;
  }
  const CodeInfo* known = codes_.find(record.code);
  const CodeInfo* caller = codes_.find(record.caller_code);
  if (is_left_out(known, caller)) {
    ++stats_.left_out;
    return;
  }
  place_under_caller(thread, record);
  const CodeInfo* code = known ? known : code_for(record.code);
  FrameEnter enter;
  enter.pid = record.header.pid;
  enter.tid = record.header.tid;
  enter.ts_ns = record.header.ts_ns;
  enter.code = code;
  // The probe's line is the current line: the def line on a fresh call, the
  // resume line for a generator. It is -1 for frames that begin with
  // MAKE_CELL or COPY_FREE_VARS, which have no line; co_firstlineno then.
  enter.line = record.lineno > 0 ? record.lineno : std::max(code->first_lineno, 0);
  enter.call_site = caller_site(record);
  if (!enter.call_site && record.frame_unread && !thread.stack.empty()) {
    // The frame was not read, so neither was its caller: name the caller
    // from the stack, without a line.
    enter.call_site = CallSite{thread.stack.back().code, 0, 0};
  }
  // Formatted only for calls that may be logged: most calls of a big
  // program are neither in the scope nor called from it.
  if (!record.args.empty() && sink_.may_log(*code, caller))
    enter.arguments = arguments_.intern(format_arguments(code->params, record.args));
  if (record.frame != 0) suspended_[thread.pid].erase(record.frame);
  thread.stack.push_back(OpenFrame{record.frame, code, std::nullopt});
  emit(thread, enter);
}

// The frames a thread was running before its first record (only when
// attaching to a running process) open its stack, outermost first, each
// called from the line its parent is on.
void CallStackBuilder::on_stack(ThreadState& thread, const StackRecord& record) {
  if (record.truncated) ++stats_.truncated_stacks;
  std::optional<CallSite> site;  // the outermost frame's caller is not known
  const CodeInfo* caller = nullptr;
  for (auto frame = record.frames.rbegin(); frame != record.frames.rend(); ++frame) {
    const CodeInfo* known = codes_.find(frame->code);
    // A frame left out is not opened: its return, if it comes, is dropped too.
    if (!is_left_out(known, caller)) {
      const CodeInfo* code = known ? known : code_for(frame->code);
      ++stats_.running_frames;
      suspended_[thread.pid].erase(frame->frame);
      thread.stack.push_back(OpenFrame{frame->frame, code, std::nullopt});
      emit(thread, FrameEnter{thread.pid, thread.tid, record.header.ts_ns, code,
                              std::max(code->first_lineno, 0), site, true});
    }
    caller = known;
    site = site_at(frame->code, frame->instr);
  }
}

void CallStackBuilder::on_return(ThreadState& thread, const FrameRecord& record) {
  if (record.note == FrameNote::kInitShim) {
    ++stats_.shim_returns;
    return;
  }
  const CodeInfo* code = codes_.find(record.code);
  if (is_left_out(code, codes_.find(record.caller_code))) {
    ++stats_.left_out;
    return;
  }
  auto& suspended = suspended_[thread.pid];
  // The frame this return closes: by address when both sides were read,
  // else by code object.
  auto closes = [&](const OpenFrame& open) {
    if (record.frame != 0 && open.frame != 0) return open.frame == record.frame;
    return code != nullptr && open.code->filename == code->filename && open.code->name == code->name;
  };
  auto open = std::find_if(thread.stack.rbegin(), thread.stack.rend(), closes);
  if (open == thread.stack.rend()) {
    if (record.frame == 0 || !suspended.count(record.frame)) {
      ++stats_.unmatched_returns;
      return;
    }
    // A suspended generator ran without an entry probe (throw(), close())
    // and made no call on the way: restore its run here.
    place_under_caller(thread, record);
    restore_frame(thread, record.frame, code, suspended[record.frame], record.header.ts_ns,
                  caller_site(record));
  } else {
    size_t index = thread.stack.size() - 1 - (open - thread.stack.rbegin());
    while (thread.stack.size() > index + 1) {
      ++stats_.closed_without_return;
      close_top(thread, record.header.ts_ns, false);
    }
  }
  close_top(thread, record.header.ts_ns, true, caller_site(record));
  if (code && code->flags.generator && record.frame != 0) suspended[record.frame] = record.lineno;
}

void CallStackBuilder::close_top(ThreadState& thread, uint64_t ts, bool returned,
                                 std::optional<CallSite> site) {
  OpenFrame top = thread.stack.back();
  thread.stack.pop_back();
  if (top.queued_enter) {
    auto& enter = std::get<FrameEnter>(thread.queue[*top.queued_enter]);
    if (site) enter.call_site = site;
    --thread.waiting;
  }
  FrameExit exit{thread.pid, thread.tid, ts, returned};
  if (thread.queue.empty()) {
    emit(thread, exit);
    return;
  }
  thread.queue.push_back(exit);
  if (thread.waiting == 0) {
    std::vector<Event> held = std::move(thread.queue);
    thread.queue.clear();
    for (auto& event : held) emit(thread, std::move(event));
  }
}

void CallStackBuilder::finish() {
  for (auto& [tid, thread] : threads_) {
    while (!thread.stack.empty()) {
      ++stats_.open_at_end;
      close_top(thread, thread.last_ts, false);
    }
  }
}

}  // namespace pytrace
