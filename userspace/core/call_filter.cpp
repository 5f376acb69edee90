// SPDX-License-Identifier: MIT
#include "core/call_filter.h"

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

void CallFilter::on_enter(const FrameEnter& enter) {
  Thread& thread = threads_[enter.tid];
  const CodeInfo& code = *enter.code;
  Frame frame{&code, in_scope(&code), enter.call_site, -1, false};

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
