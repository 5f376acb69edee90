// SPDX-License-Identifier: MIT
#include "view_model.h"

#include <filesystem>
#include <span>

#include "core/json_text.h"

namespace pytrace::viewer {

namespace {

template <typename T>
void append_column(std::string& out, std::string_view key, std::span<const T> values) {
  out += '"';
  out += key;
  out += "\":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  out += ']';
}

template <typename T, typename Field>
void append_group_column(std::string& out, std::string_view key, const std::vector<DocumentGroup>& groups,
                         Field field) {
  std::vector<T> values;
  values.reserve(groups.size());
  for (const auto& g : groups) values.push_back(static_cast<T>(g.*field));
  append_column<T>(out, key, values);
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
  append_column<int32_t>(out, "parent", doc.parent);
  out += ',';
  append_column<int32_t>(out, "depth", doc.depth);
  out += ',';
  append_column<uint32_t>(out, "end", doc.subtree_end);
  out += ',';
  append_column<uint32_t>(out, "thread", doc.thread);
  out += ',';
  append_column<uint32_t>(out, "name", doc.name);
  out += ',';
  append_column<uint32_t>(out, "qualname", doc.qualname);
  out += ',';
  append_column<uint32_t>(out, "location", doc.location);
  out += ',';
  append_column<uint32_t>(out, "type", doc.call_type);
  out += ',';
  append_column<uint32_t>(out, "site", doc.call_site);
  out += ',';
  append_column<int64_t>(out, "duration", doc.duration_ns);
  out += ',';
  append_column<uint8_t>(out, "flags", doc.flags);

  out += "},\"groups\":{\"count\":" + std::to_string(doc.groups.size()) + ',';
  append_group_column<int32_t>(out, "parent", doc.groups, &DocumentGroup::parent);
  out += ',';
  append_group_column<uint32_t>(out, "first", doc.groups, &DocumentGroup::first);
  out += ',';
  append_group_column<uint32_t>(out, "last", doc.groups, &DocumentGroup::last);
  out += ',';
  append_group_column<uint32_t>(out, "template_end", doc.groups, &DocumentGroup::template_end);
  out += ',';
  append_group_column<uint32_t>(out, "period", doc.groups, &DocumentGroup::period);
  out += ',';
  append_group_column<uint32_t>(out, "repetitions", doc.groups, &DocumentGroup::repetitions);
  out += ',';
  append_group_column<int32_t>(out, "outer", doc.groups, &DocumentGroup::outer);
  out += "}}";
  return out;
}

}  // namespace pytrace::viewer
