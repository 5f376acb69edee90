// SPDX-License-Identifier: MIT
#include "view_model.h"

#include <filesystem>

#include "core/json_text.h"

namespace pytrace::viewer {

namespace {

// Appends `"key":[v,...],`: a column of numbers.
template <typename T>
void append_column(std::string& out, std::string_view key, const std::vector<T>& values) {
  append_json_string(out, key);
  out += ":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  out += "],";
}

// One field of every group, as a column.
template <typename T>
std::vector<T> group_column(const std::vector<DocumentGroup>& groups, T DocumentGroup::*field) {
  std::vector<T> values;
  values.reserve(groups.size());
  for (const auto& g : groups) values.push_back(g.*field);
  return values;
}

void append_summary(std::string& out, const Summary& s) {
  const std::pair<std::string_view, uint64_t> figures[] = {
      {"calls", s.calls},
      {"internal", s.internal},
      {"external", s.external},
      {"imports", s.imports},
      {"unique_functions", s.unique_functions},
      {"unique_locations", s.unique_locations},
      {"tests", s.tests},
      {"tests_failed", s.tests_failed},
      {"tests_skipped", s.tests_skipped},
      {"lost", s.lost},
      {"unread_frames", s.unread_frames},
      {"open_at_end", s.open_at_end},
  };
  out += "\"summary\":{";
  for (const auto& [key, value] : figures) {
    append_json_string(out, key);
    out += ':' + std::to_string(value) + ',';
  }
  out += "\"call_types\":{";
  bool first = true;
  for (const auto& [type, count] : s.call_types) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, type);
    out += ':' + std::to_string(count);
  }
  out += "}}";
}

}  // namespace

std::string view_model_json(const TraceDocument& doc, const ViewSettings& settings) {
  namespace fs = std::filesystem;
  fs::path trace(settings.trace_path);
  std::string out;
  out.reserve(doc.size() * 48 + 4096);

  out += "{\"trace\":{\"path\":";
  append_json_string(out, trace.string());
  out += ",\"name\":";
  append_json_string(out, trace.filename().string());
  out += ",\"directory\":";
  append_json_string(out, trace.parent_path().string());
  out += ",\"suggested_save\":";
  append_json_string(out, settings.suggested_save);
  out += ",\"skipped_entries\":" + std::to_string(doc.skipped_entries);
  out += ",\"executed_lines\":" + std::to_string(doc.executed_lines);
  out += doc.is_stack ? ",\"stack\":true" : ",\"stack\":false";
  out += "},\"options\":{\"patterns\":";
  out += settings.patterns ? "true" : "false";
  out += ",\"hide_imports\":";
  out += settings.hide_imports ? "true" : "false";
  out += "},\"metadata\":";
  out += doc.metadata();
  out += ',';
  append_summary(out, doc.summary);

  out += ",\"strings\":[";
  for (size_t i = 0; i < doc.strings.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, doc.strings[i]);
  }
  out += "],\"threads\":[";
  for (size_t i = 0; i < doc.threads.size(); ++i) {
    const DocumentThread& t = doc.threads[i];
    if (i) out += ',';
    out +=
        "{\"thread_id\":" + std::to_string(t.thread_id) + ",\"pid\":" + std::to_string(t.pid) + ",\"name\":";
    append_json_string(out, t.name);
    out += ",\"calls\":" + std::to_string(t.calls) + '}';
  }

  out += "],\"calls\":{\"count\":" + std::to_string(doc.size()) + ',';
  append_column(out, "parent", doc.parent);
  append_column(out, "depth", doc.depth);
  append_column(out, "end", doc.subtree_end);
  append_column(out, "thread", doc.thread);
  append_column(out, "name", doc.name);
  append_column(out, "qualname", doc.qualname);
  append_column(out, "location", doc.location);
  append_column(out, "type", doc.call_type);
  append_column(out, "site", doc.call_site);
  append_column(out, "imports", doc.imports);
  append_column(out, "duration", doc.duration_ns);
  append_column(out, "flags", doc.flags);
  // Where entries that are not calls (executed lines) are among them, the
  // calls' ids in the document are not their numbers here.
  if (doc.skipped_entries) append_column(out, "id", doc.entry_id);
  out.back() = '}';

  const auto& groups = doc.groups;
  out += ",\"groups\":{\"count\":" + std::to_string(groups.size()) + ',';
  append_column(out, "parent", group_column(groups, &DocumentGroup::parent));
  append_column(out, "first", group_column(groups, &DocumentGroup::first));
  append_column(out, "last", group_column(groups, &DocumentGroup::last));
  append_column(out, "template_end", group_column(groups, &DocumentGroup::template_end));
  append_column(out, "period", group_column(groups, &DocumentGroup::period));
  append_column(out, "repetitions", group_column(groups, &DocumentGroup::repetitions));
  append_column(out, "outer", group_column(groups, &DocumentGroup::outer));
  out.back() = '}';
  out += '}';
  return out;
}

}  // namespace pytrace::viewer
