// SPDX-License-Identifier: MIT
#include "core/console_writer.h"

#include <cstdio>
#include <vector>

namespace pytrace {

std::string format_duration(uint64_t ns) {
  char buffer[32];
  if (ns < 1000) {
    std::snprintf(buffer, sizeof(buffer), "%llu ns", static_cast<unsigned long long>(ns));
  } else if (ns < 1000000) {
    std::snprintf(buffer, sizeof(buffer), "%.1f us", static_cast<double>(ns) / 1e3);
  } else if (ns < 1000000000) {
    std::snprintf(buffer, sizeof(buffer), "%.1f ms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.2f s", static_cast<double>(ns) / 1e9);
  }
  return buffer;
}

namespace {

bool shows_type(CallType type) {
  return type != CallType::kFunctionCall && type != CallType::kMethod;
}

void write_thread(const ThreadTrace& thread, const std::vector<TestInfo>& tests, const Scope& scope,
                  std::ostream& out) {
  const auto& entries = thread.entries;
  // An entry is the last of its siblings when no later entry has its parent;
  // that decides between "├── " and "└── " and whether a guide line
  // continues below it.
  std::vector<bool> has_next_sibling(entries.size(), false);
  {
    std::vector<bool> seen_child_of(entries.size() + 1, false);  // index parent+1
    for (size_t i = entries.size(); i-- > 0;) {
      size_t slot = static_cast<size_t>(entries[i].parent + 1);
      has_next_sibling[i] = seen_child_of[slot];
      seen_child_of[slot] = true;
    }
  }

  std::vector<size_t> path;  // ancestors of the current entry, outermost first
  for (size_t i = 0; i < entries.size(); ++i) {
    const TraceEntry& entry = entries[i];
    while (!path.empty() && static_cast<int64_t>(path.back()) != entry.parent) path.pop_back();

    // Top-level calls start at the margin; below them every open ancestor
    // but the top-level one draws a guide column.
    std::string line;
    for (size_t k = 1; k < path.size(); ++k) line += has_next_sibling[path[k]] ? "│   " : "    ";
    if (!path.empty()) line += has_next_sibling[i] ? "├── " : "└── ";

    if (entry.test >= 0) {
      const TestInfo& test = tests[entry.test];
      line += test.nodeid + "  " + scope.location(test.file, test.line, false);
    } else {
      line += entry.code->name + "  " +
              scope.location(entry.code->filename, entry.line, entry.code->name == "<module>");
    }
    if (entry.duration_ns) {
      line += "  (" + format_duration(*entry.duration_ns) + ")";
    } else {
      line += "  (did not return)";
    }
    if (entry.started_before_trace) line += "  [running before the trace]";
    if (entry.test >= 0) {
      line += "  [test " + tests[entry.test].outcome + "]";
    } else if (shows_type(entry.call_type)) {
      line += "  [";
      line += call_type_name(entry.call_type);
      line += "]";
    }
    out << line << '\n';
    if (!entry.is_external) path.push_back(i);
  }
}

}  // namespace

void write_console_tree(const TraceModel& model, const Scope& scope, std::ostream& out) {
  bool headings = model.threads.size() > 1;
  bool several_processes = false;
  for (const auto& thread : model.threads) several_processes |= thread.pid != model.threads.front().pid;
  for (size_t t = 0; t < model.threads.size(); ++t) {
    const ThreadTrace& thread = model.threads[t];
    if (headings) {
      out << (t ? "\n" : "") << "── thread " << thread.tid << (thread.tid == thread.pid ? " (main)" : "")
          << (thread.name.empty() ? "" : " \"" + thread.name + "\"")
          << (several_processes ? " of pid " + std::to_string(thread.pid) : "") << " ──\n";
    }
    write_thread(thread, model.tests, scope, out);
  }
  if (model.threads.empty()) out << "(no calls in scope " << scope.root() << ")\n";
}

}  // namespace pytrace
