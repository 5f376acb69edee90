// SPDX-License-Identifier: MIT
#include "filtered_trace.h"

#include <simdjson.h>
#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "core/json_text.h"

namespace pytrace::viewer {

using nlohmann::ordered_json;

std::string checked_save_name(std::string_view requested) {
  std::string name(requested);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.erase(0, 1);
  if (name.empty()) throw Error("the file name is empty");
  if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos)
    throw Error("the file name must not contain a directory (no / or \\): files are saved next to the trace");
  if (name.find("..") != std::string::npos) throw Error("the file name must not contain \"..\"");
  if (name.front() == '.') throw Error("the file name must not start with \".\"");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) throw Error("the file name contains a control character");
  }
  if (!name.ends_with(".json")) name += ".json";
  if (name.size() > 255) throw Error("the file name is longer than 255 bytes");
  return name;
}

ObjectText::ObjectText(std::string_view text, uint32_t call) : text_(text) {
  simdjson::padded_string padded(text);
  static thread_local simdjson::ondemand::parser parser;  // reused: a save reads every entry
  try {
    simdjson::ondemand::document doc = parser.iterate(padded);
    for (auto field : doc.get_object()) {
      std::string key(std::string_view(field.unescaped_key()));
      simdjson::ondemand::value value = field.value();
      std::string_view token;
      if (value.type() == simdjson::ondemand::json_type::object) {
        simdjson::ondemand::object inner = value.get_object();
        token = inner.raw_json();
      } else if (value.type() == simdjson::ondemand::json_type::array) {
        simdjson::ondemand::array inner = value.get_array();
        token = inner.raw_json();
      } else {
        token = value.raw_json_token();
        while (!token.empty() &&
               (token.back() == ' ' || token.back() == '\n' || token.back() == '\t' || token.back() == '\r'))
          token.remove_suffix(1);
      }
      spans_[key] = {static_cast<size_t>(token.data() - padded.data()), token.size()};
    }
  } catch (const simdjson::simdjson_error&) {
    throw Error("entry " + std::to_string(call) + " of the trace is not valid JSON");
  }
}

std::optional<std::string_view> ObjectText::value(std::string_view key) const {
  auto it = spans_.find(key);
  if (it == spans_.end()) return std::nullopt;
  return text_.substr(it->second.first, it->second.second);
}

std::string ObjectText::with(const std::vector<std::pair<std::string_view, std::string>>& values) const {
  std::vector<std::pair<size_t, std::pair<size_t, std::string>>> edits;  // position, (length, text)
  std::string added;
  for (const auto& [key, value] : values) {
    if (auto it = spans_.find(key); it != spans_.end()) {
      edits.push_back({it->second.first, {it->second.second, value}});
    } else {
      added += ",";
      append_json_string(added, key);
      added += ":" + value;
    }
  }
  std::sort(edits.begin(), edits.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out(text_);
  for (const auto& [position, edit] : edits) out.replace(position, edit.first, edit.second);
  size_t close = out.rfind('}');
  if (!added.empty() && close != std::string::npos) {
    if (spans_.empty()) added.erase(0, 1);  // an empty object takes no comma
    out.insert(close, added);
  }
  return out;
}

void write_filtered_document(const TraceDocument& doc, std::span<const uint32_t> kept,
                             const FilterRecord& record, const std::function<void(std::string_view)>& write) {
  // New index of every kept call, -1 for the others.
  std::vector<int32_t> new_id(doc.size(), -1);
  std::unordered_map<int64_t, uint64_t> calls_per_thread;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (kept[i] >= doc.size()) throw Error("call " + std::to_string(kept[i]) + " is not in the trace");
    if (i > 0 && kept[i] <= kept[i - 1]) throw Error("the calls to keep are not in ascending order");
    new_id[kept[i]] = static_cast<int32_t>(i);
    calls_per_thread[doc.threads[doc.thread[kept[i]]].thread_id]++;
  }

  ordered_json metadata = ordered_json::parse(doc.metadata(), nullptr, false);
  if (!metadata.is_object()) metadata = ordered_json::object();
  metadata["total_frames"] = kept.size();
  if (auto threads = metadata.find("threads"); threads != metadata.end() && threads->is_array()) {
    ordered_json still = ordered_json::array();
    for (auto thread : *threads) {
      auto id = thread.is_object() ? thread.find("thread_id") : thread.end();
      if (id == thread.end() || !id->is_number_integer()) continue;  // not a thread this tool wrote
      uint64_t calls = calls_per_thread[id->get<int64_t>()];
      if (calls == 0) continue;
      thread["calls"] = calls;
      still.push_back(std::move(thread));
    }
    *threads = std::move(still);
  }
  if (auto tests = metadata.find("tests"); tests != metadata.end() && tests->is_array()) {
    for (auto& test : *tests) {
      auto id = test.find("id");
      if (id == test.end() || !id->is_number_integer()) continue;
      int64_t old = id->get<int64_t>();
      *id = old >= 0 && static_cast<size_t>(old) < doc.size() && new_id[old] >= 0 ? ordered_json(new_id[old])
                                                                                  : ordered_json();
    }
  }
  if (metadata.contains("patterns")) metadata["patterns"] = nullptr;
  metadata["filtered"] = true;
  metadata["filter_applied_at"] = record.applied_at;
  metadata["original_total_calls"] = doc.size();
  metadata["filtered_total_calls"] = kept.size();
  metadata["filters_applied"] = record.filters;
  metadata["filtered_from"] = record.source;
  write("{\"metadata\": ");
  write(metadata.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
  write(",\n\"trace_data\": [");

  // The nearest kept ancestor in the drawn tree (the caller), or the nearest
  // kept in-scope one (the parent: external calls are never parents).
  auto kept_ancestor = [&](uint32_t call, bool in_scope) -> int64_t {
    for (int32_t p = doc.parent[call]; p >= 0; p = doc.parent[p]) {
      if (new_id[p] >= 0 && !(in_scope && (doc.flags[p] & kExternal))) return new_id[p];
    }
    return -1;
  };
  // Entries are written one by one: a save of tens of millions of calls is
  // never whole in memory.
  std::vector<int32_t> new_depth(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    uint32_t call = kept[i];
    ObjectText entry(doc.raw_entry(call), call);
    int64_t parent = kept_ancestor(call, true);
    new_depth[i] = parent < 0 ? 0 : new_depth[parent] + 1;
    std::vector<std::pair<std::string_view, std::string>> values{{"depth", std::to_string(new_depth[i])}};
    auto id_or_null = [](int64_t id) { return id < 0 ? std::string("null") : std::to_string(id); };
    if (std::optional<std::string_view> old_id = entry.value("id")) {
      values.push_back({"id", std::to_string(i)});
      values.push_back({"parent_id", id_or_null(parent)});
      if (entry.value("caller_id")) values.push_back({"caller_id", id_or_null(kept_ancestor(call, false))});
      values.push_back({"original_id", std::string(*old_id)});
    }
    write(i ? ",\n" : "\n");
    write(entry.with(values));
  }
  write("\n]}\n");
}

std::string filtered_document(const TraceDocument& doc, std::span<const uint32_t> kept,
                              const FilterRecord& record) {
  std::string out;
  write_filtered_document(doc, kept, record, [&out](std::string_view piece) { out += piece; });
  return out;
}

}  // namespace pytrace::viewer
