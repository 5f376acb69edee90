// SPDX-License-Identifier: MIT
#include "core/console_writer.h"

#include <cstdio>
#include <map>
#include <string_view>
#include <vector>

#include "core/json_text.h"

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

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto escape = [&](std::string_view bytes) {
    for (unsigned char byte : bytes) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    }
  };
  for (size_t i = 0; i < text.size();) {
    size_t length = utf8_sequence(text, i);
    auto lead = static_cast<unsigned char>(text[i]);
    auto second = length > 1 ? static_cast<unsigned char>(text[i + 1]) : 0;
    bool control = length == 1 ? lead < 0x20 || lead == 0x7f : lead == 0xc2 && second < 0xa0;  // C0, DEL, C1
    if (length == 0) {
      escape(text.substr(i, 1));
      ++i;
    } else {
      if (control)
        escape(text.substr(i, length));
      else
        out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

namespace {

bool shows_type(CallType type) {
  return type != CallType::kFunctionCall && type != CallType::kMethod;
}

// One thread's tree, drawn with guide lines; pattern groups show their
// template once, under a header with the repetition count.
class ThreadPrinter {
 public:
  ThreadPrinter(const TraceModel& model, const ThreadTrace& thread, size_t first_id, const Scope& scope,
                const ConsoleOptions& options, std::ostream& out)
      : model_(model), thread_(thread), first_id_(first_id), scope_(scope), options_(options), out_(out) {
    const auto& entries = thread.entries;
    children_.resize(entries.size() + 1);  // the last slot holds the top level
    // Calls nest under their callers, so that a callback made through
    // library code shows inside the library call whose time it is part of.
    for (size_t i = 0; i < entries.size(); ++i) children_[slot(caller_of(entries, i))].push_back(i);
    for (size_t g = 0; g < thread.patterns.size(); ++g) {
      const PatternGroup& group = thread.patterns[g];
      (group.outer < 0 ? top_groups_[group.parent] : nested_[group.outer]).push_back(g);
    }
  }

  void print() {
    const auto& top = children_.back();
    print_list(-1, 0, top.size(), top_groups_[-1], "", true);
  }

 private:
  size_t slot(int64_t parent) const {
    return parent < 0 ? thread_.entries.size() : static_cast<size_t>(parent);
  }

  std::string paint(const std::string& text, const char* code) const {
    return options_.color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  }

  // Positions [from, to) of `parent`'s children; `groups` are the groups
  // among them, in order. At the top level there are no guide lines.
  void print_list(int64_t parent, size_t from, size_t to, const std::vector<size_t>& groups,
                  const std::string& prefix, bool top) {
    const auto& list = children_[slot(parent)];
    size_t next_group = 0;
    for (size_t pos = from; pos < to;) {
      const PatternGroup* group = nullptr;
      while (next_group < groups.size() && thread_.patterns[groups[next_group]].position < pos) ++next_group;
      if (next_group < groups.size() && thread_.patterns[groups[next_group]].position == pos) {
        group = &thread_.patterns[groups[next_group]];
      }
      size_t end = pos + (group ? group->period * group->repetitions : 1);
      bool last = end >= to;
      std::string connector = top ? "" : (last ? "└── " : "├── ");
      std::string below = top ? "" : prefix + (last ? "    " : "│   ");
      if (group && group->period == 1 && children_[list[pos]].empty()) {
        // One call without callees, repeated: one line says it.
        print_call(list[pos], prefix + connector, below,
                   "  × " + std::to_string(group->repetitions) + " (calls #" +
                       std::to_string(first_id_ + group->first) + "-#" +
                       std::to_string(first_id_ + group->last) + ")");
      } else if (group) {
        print_group(parent, *group, groups[next_group], prefix + connector, below);
      } else {
        print_call(list[pos], prefix + connector, below);
      }
      pos = end;
    }
  }

  void print_group(int64_t parent, const PatternGroup& group, size_t index, const std::string& lead,
                   const std::string& below) {
    std::string counts = std::to_string(group.repetitions) + "x repetitions of " +
                         std::to_string(group.period) + (group.period == 1 ? " call" : " calls");
    if (group.outer < 0) {
      out_ << lead
           << paint("🔄 Repeating Pattern: " + counts + " (calls #" + std::to_string(first_id_ + group.first) +
                        "-#" + std::to_string(first_id_ + group.last) +
                        ", total: " + std::to_string(group.total_calls) + " calls)",
                    "36")
           << '\n';
      out_ << below
           << paint("📋 Pattern template (repeated " + std::to_string(group.repetitions) + " times):", "2")
           << '\n';
      print_list(parent, group.position, group.position + group.period, nested_[index], below, false);
    } else {
      out_ << lead << paint("🔄 Nested Pattern: " + counts, "36") << '\n';
      print_list(parent, group.position, group.position + group.period, nested_[index], below, false);
    }
  }

  void print_call(size_t i, const std::string& lead, const std::string& below,
                  const std::string& repeated = "") {
    const TraceEntry& entry = thread_.entries[i];
    std::string text;
    if (entry.test >= 0) {
      const TestInfo& test = model_.tests[entry.test];
      text = test.nodeid + "  " + scope_.location(test.file, test.line, false);
    } else {
      text = entry.code->name + "  " +
             scope_.location(entry.code->filename, entry.line, entry.code->name == "<module>");
    }
    text = printable(text);
    text = entry.is_external ? paint(text, "2") : text;
    std::string details = entry.duration_ns ? "  (" + format_duration(*entry.duration_ns) + ")"
                                            : "  " + paint("(did not return)", "33");
    if (entry.started_before_trace) details += "  [running before the trace]";
    if (entry.test >= 0) {
      details += "  [test " + model_.tests[entry.test].outcome + "]";
    } else if (int module = imported_module(entry); module >= 0) {
      details += "  [import " + printable(model_.modules[module]) + "]";
    } else if (shows_type(entry.call_type)) {
      details += "  [" + std::string(call_type_name(entry.call_type)) + "]";
    }
    out_ << lead << text << paint(details, "2") << (repeated.empty() ? "" : paint(repeated, "36")) << '\n';
    const auto& children = children_[i];
    auto groups = top_groups_.find(static_cast<int64_t>(i));
    print_list(static_cast<int64_t>(i), 0, children.size(),
               groups == top_groups_.end() ? kNoGroups : groups->second, below, false);
  }

  static inline const std::vector<size_t> kNoGroups{};

  const TraceModel& model_;
  const ThreadTrace& thread_;
  size_t first_id_;
  const Scope& scope_;
  const ConsoleOptions& options_;
  std::ostream& out_;
  std::vector<std::vector<size_t>> children_;
  std::map<int64_t, std::vector<size_t>> top_groups_;  // by parent
  std::map<size_t, std::vector<size_t>> nested_;       // by outer group
};

}  // namespace

void write_console_tree(const TraceModel& model, const Scope& scope, std::ostream& out,
                        const ConsoleOptions& options) {
  bool headings = model.threads.size() > 1;
  bool several_processes = false;
  for (const auto& thread : model.threads) several_processes |= thread.pid != model.threads.front().pid;
  size_t first_id = 0;
  for (size_t t = 0; t < model.threads.size(); ++t) {
    const ThreadTrace& thread = model.threads[t];
    if (headings) {
      std::string heading = "── thread " + std::to_string(thread.tid) +
                            (thread.tid == thread.pid ? " (main)" : "") +
                            (thread.name.empty() ? "" : " \"" + printable(thread.name) + "\"") +
                            (several_processes ? " of pid " + std::to_string(thread.pid) : "") + " ──";
      out << (t ? "\n" : "") << (options.color ? "\033[1m" + heading + "\033[0m" : heading) << '\n';
    }
    ThreadPrinter(model, thread, first_id, scope, options, out).print();
    first_id += thread.entries.size();
  }
  if (model.threads.empty()) out << "(no calls in scope " << printable(scope.root()) << ")\n";
}

}  // namespace pytrace
