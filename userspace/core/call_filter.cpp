// SPDX-License-Identifier: MIT
#include "core/call_filter.h"

#include <algorithm>

#include "core/classify.h"

namespace pytrace {

// The seed counted calls per name@absolute file:line; code objects with the
// same three share a count. The string key is built once per code and line.
uint32_t& CallFilter::call_counter(const CodeInfo& code, int line) {
  auto [it, inserted] = counters_.try_emplace({&code, line}, nullptr);
  if (inserted) {
    std::string key = code.name + "@" + normalize_path(code.filename) + ":" + std::to_string(line);
    it->second = &call_counts_[key];
  }
  return *it->second;
}

bool CallFilter::in_scope(const CodeInfo* code) {
  auto [it, inserted] = in_scope_cache_.try_emplace(code, false);
  if (inserted) {
    int root = scope_.matching_root(code->filename);
    it->second = root >= 0;
    if (root >= 0) {
      model_.scopes_used.resize(scope_.roots().size());
      model_.scopes_used[root] = true;
    }
  }
  return it->second;
}

// With --no-external-calls the parent location is the nearest in-scope
// ancestor's current line: the call site its child on this stack recorded.
std::optional<CallSite> CallFilter::site_in_scope(const Thread& thread, const FrameEnter& enter) const {
  std::optional<CallSite> site = enter.call_site;
  for (size_t i = thread.stack.size(); i-- > 0;) {
    if (thread.stack[i].in_scope) return site;
    site = thread.stack[i].call_site;
  }
  return std::nullopt;
}

ThreadTrace& CallFilter::trace_of(Thread& thread, const FrameEnter& enter) {
  if (thread.trace < 0) {
    thread.trace = static_cast<int>(model_.threads.size());
    ThreadTrace& trace = model_.threads.emplace_back();
    trace.pid = enter.pid;
    trace.tid = enter.tid;
  }
  return model_.threads[thread.trace];
}

int CallFilter::module_index(const std::string& module) {
  auto [it, inserted] = module_indexes_.try_emplace(module, static_cast<int>(model_.modules.size()));
  if (inserted) model_.modules.push_back(module);
  return it->second;
}

// A process's main module: the traced script's module body, or (in a child
// process) one run by the interpreter itself, with no Python caller; never
// one that an import runs.
bool CallFilter::is_main_module(const CodeInfo& code, const FrameEnter& enter, const Thread& thread) const {
  return code.name == "<module>" && thread.imports.empty() &&
         (code.filename == options_.main_file || !enter.call_site);
}

// The interpreter runs the tool's line starter as a "<string>" module, which
// may have been logged as an external call before it ran the script (and
// nothing else): that entry is the tool's, not the program's. It is the
// script's caller; a "<string>" module of the program's own (exec) that is
// open when the starter was left out (core/scope_verdicts.h) is not.
void CallFilter::forget_line_starter(Thread& thread, const FrameEnter& script) {
  if (thread.stack.empty() || thread.trace < 0) return;
  Frame& starter = thread.stack.back();
  ThreadTrace& trace = model_.threads[thread.trace];
  if (!script.call_site || script.call_site->code != starter.code || starter.code->filename != "<string>" ||
      starter.code->name != "<module>" || starter.entry < 0 ||
      starter.entry + 1 != static_cast<int64_t>(trace.entries.size()))
    return;
  if (trace.entries.back().number_of_calls) --call_counter(*starter.code, trace.entries.back().line);
  trace.entries.pop_back();
  thread.open_entries.pop_back();
  if (starter.adds_depth) thread.open_scope_entries.pop_back();
  starter.entry = -1;
  starter.adds_depth = false;
}

// The stack of the thread at the breakpoint's Nth hit in its process: the
// program's frames, below the script's (the line callback and `marker`,
// the call it made). Each frame is at the line it called the next from;
// the innermost at the breakpoint.
void CallFilter::take_breakpoint_stack(const Thread& thread, const FrameEnter& marker) {
  BreakpointHit hit;
  hit.pid = marker.pid;
  hit.tid = marker.tid;
  hit.ts_ns = marker.ts_ns >= options_.origin_ns ? marker.ts_ns - options_.origin_ns : 0;
  for (size_t i = 0; i < thread.stack.size(); ++i) {
    const Frame& frame = thread.stack[i];
    if (frame.code->filename == options_.line_script) break;
    bool innermost =
        i + 1 == thread.stack.size() || thread.stack[i + 1].code->filename == options_.line_script;
    int line = innermost ? options_.breakpoint->line
                         : (thread.stack[i + 1].call_site ? thread.stack[i + 1].call_site->line : 0);
    hit.frames.push_back({frame.code, line, frame.call_site, frame.arguments, frame.in_scope});
  }
  model_.breakpoint_hit = std::move(hit);
}

// A line the frame under the line callback ran: the breakpoint's, and one
// of the scope's if it is in scope.
void CallFilter::add_executed_line(Thread& thread, const FrameEnter& callback) {
  if (thread.stack.empty() || !callback.call_site) return;
  const Frame& frame = thread.stack.back();
  if (frame.code != callback.call_site->code) return;
  const auto& breakpoint = options_.breakpoint;
  if (breakpoint && callback.call_site->line == breakpoint->line &&
      std::ranges::find(breakpoint->files, frame.code->filename) != breakpoint->files.end())
    ++model_.breakpoint_hits;
  if (!frame.in_scope || !options_.executed_lines) return;
  ThreadTrace& trace = trace_of(thread, callback);
  int64_t call = thread.open_scope_entries.empty() ? -1 : thread.open_scope_entries.back();
  trace.executed_lines.push_back(
      {frame.code, callback.call_site->line, static_cast<uint32_t>(trace.entries.size()), call});
}

void CallFilter::on_enter(const FrameEnter& enter) {
  Thread& thread = threads_[enter.tid];
  const CodeInfo& code = *enter.code;
  if (!options_.line_script.empty() && code.filename == options_.line_script) {
    if (!model_.line_script_ran) forget_line_starter(thread, enter);
    model_.line_script_ran = true;
    if (code.name == kLineCallbackName) add_executed_line(thread, enter);
    if (code.name == kNoLineToolIdName) model_.line_tool_ids_taken = true;
    if (code.name == kLinesEndedName) model_.line_tracking_ended = true;
    if (code.name == kBreakpointName && options_.breakpoint && !model_.breakpoint_hit)
      take_breakpoint_stack(thread, enter);
    thread.stack.push_back({&code, false, enter.call_site, -1, false, 0});
    return;
  }
  Frame frame{&code, in_scope(&code), enter.call_site, -1, false, enter.arguments};

  const Frame* caller = thread.stack.empty() ? nullptr : &thread.stack.back();
  bool logged = frame.in_scope || (options_.external_calls && caller && caller->in_scope);
  if (logged && !options_.show_dunders && (is_hidden_dunder(code.name) || is_comprehension(code.name))) {
    logged = false;
  }

  if (logged) {
    CallFacts facts{code, !frame.in_scope,
                    enter.call_site ? std::string_view(enter.call_site->code->filename) : "",
                    is_main_module(code, enter, thread)};
    CallType type = classify_call(facts, sources_);
    if (type == CallType::kImport && !options_.imports) logged = false;

    if (logged) {
      TraceEntry entry;
      entry.code = &code;
      entry.line = code.name == "<module>" ? 0 : enter.line;
      entry.parent_site = options_.external_calls ? enter.call_site : site_in_scope(thread, enter);
      entry.depth = static_cast<int>(thread.open_scope_entries.size());
      entry.is_external = !frame.in_scope;
      entry.call_type = type;
      if (counts_calls(type)) entry.number_of_calls = ++call_counter(code, entry.line);
      entry.arguments = enter.arguments;
      entry.start_ns = enter.ts_ns >= options_.origin_ns ? enter.ts_ns - options_.origin_ns : 0;
      entry.parent = thread.open_scope_entries.empty() ? -1 : thread.open_scope_entries.back();
      entry.importing = thread.imports.empty() ? -1 : thread.imports.back();
      entry.started_before_trace = enter.started_before_trace;

      ThreadTrace& trace = trace_of(thread, enter);
      frame.entry = static_cast<int64_t>(trace.entries.size());
      if (!thread.open_entries.empty())
        entry.caller_back = static_cast<uint32_t>(frame.entry - thread.open_entries.back());
      thread.open_entries.push_back(frame.entry);
      trace.entries.push_back(entry);
      if (frame.in_scope) {
        frame.adds_depth = true;
        thread.open_scope_entries.push_back(frame.entry);
      }
    }
  }
  thread.stack.push_back(std::move(frame));
}

void CallFilter::on_exit(const FrameExit& exit) {
  Thread& thread = threads_[exit.tid];
  if (thread.stack.empty()) return;  // CallStackBuilder never sends this
  Frame frame = std::move(thread.stack.back());
  thread.stack.pop_back();
  if (frame.entry < 0) return;
  thread.open_entries.pop_back();
  TraceEntry& entry = model_.threads[thread.trace].entries[frame.entry];
  if (exit.returned) {
    uint64_t end = exit.ts_ns >= options_.origin_ns ? exit.ts_ns - options_.origin_ns : 0;
    entry.duration_ns = end >= entry.start_ns ? end - entry.start_ns : 0;
  }
  if (frame.adds_depth) thread.open_scope_entries.pop_back();
}

// A later thread with the same tid gets a trace of its own.
void CallFilter::on_thread_end(const ThreadEnd& end) {
  auto it = threads_.find(end.tid);
  if (it == threads_.end()) return;
  if (it->second.trace >= 0 && !end.name.empty()) model_.threads[it->second.trace].name = end.name;
  threads_.erase(it);
}

void CallFilter::on_import(const ImportEvent& event) {
  Thread& thread = threads_[event.tid];
  int module = module_index(event.module);
  if (!event.done) {
    thread.imports.push_back(module);
    return;
  }
  for (size_t i = thread.imports.size(); i-- > 0;) {
    if (thread.imports[i] == module) {
      thread.imports.resize(i);
      return;
    }
  }
}

}  // namespace pytrace
