// SPDX-License-Identifier: MIT
#include "view_model.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/json_text.h"

namespace pytrace::viewer {

namespace {

constexpr size_t kAlignment = 8;
constexpr size_t kMaxHeaderBytes = size_t{256} << 20;

size_t aligned(size_t offset) {
  return (offset + kAlignment - 1) / kAlignment * kAlignment;
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

void ViewModel::add(std::string table, std::string name, const void* values, size_t count, size_t width,
                    const char* type, bool int64_as_double) {
  columns_.push_back({.table = std::move(table),
                      .name = std::move(name),
                      .type = type,
                      .values = values,
                      .count = count,
                      .width = width,
                      .int64_as_double = int64_as_double});
}

ViewModel::ViewModel(const TraceDocument& doc, const ViewSettings& settings) {
  // Every number the page indexes by is below 2^31, so unsigned columns
  // are sent as the page's Int32Array.
  size_t n = doc.size();
  add("calls", "parent", doc.parent.data(), n, 4, "i32");
  add("calls", "depth", doc.depth.data(), n, 4, "i32");
  add("calls", "end", doc.subtree_end.data(), n, 4, "i32");
  add("calls", "thread", doc.thread.data(), n, 4, "i32");
  add("calls", "name", doc.name.data(), n, 4, "i32");
  add("calls", "qualname", doc.qualname.data(), n, 4, "i32");
  add("calls", "location", doc.location.data(), n, 4, "i32");
  add("calls", "type", doc.call_type.data(), n, 4, "i32");
  add("calls", "site", doc.call_site.data(), n, 4, "i32");
  add("calls", "imports", doc.imports.data(), n, 4, "i32");
  add("calls", "start", doc.start_ns.data(), n, 8, "f64", true);
  add("calls", "duration", doc.duration_ns.data(), n, 8, "f64", true);
  add("calls", "flags", doc.flags.data(), n, 1, "u8");
  // Where entries that are not calls (executed lines) are among them, the
  // calls' ids in the document are not their numbers here.
  if (!doc.entry_id.empty()) add("calls", "id", doc.entry_id.data(), n, 4, "i32");

  const auto& groups = doc.groups;
  size_t g = groups.size();
  const std::pair<const char*, int32_t (*)(const DocumentGroup&)> group_fields[] = {
      {"parent", [](const DocumentGroup& x) { return x.parent; }},
      {"first", [](const DocumentGroup& x) { return static_cast<int32_t>(x.first); }},
      {"last", [](const DocumentGroup& x) { return static_cast<int32_t>(x.last); }},
      {"template_end", [](const DocumentGroup& x) { return static_cast<int32_t>(x.template_end); }},
      {"period", [](const DocumentGroup& x) { return static_cast<int32_t>(x.period); }},
      {"repetitions", [](const DocumentGroup& x) { return static_cast<int32_t>(x.repetitions); }},
      {"outer", [](const DocumentGroup& x) { return x.outer; }},
  };
  group_fields_.reserve(g * std::size(group_fields));
  for (const auto& [name, field] : group_fields)
    for (const DocumentGroup& group : groups) group_fields_.push_back(field(group));
  for (size_t f = 0; f < std::size(group_fields); ++f)
    add("groups", group_fields[f].first, group_fields_.data() + f * g, g, 4, "i32");

  namespace fs = std::filesystem;
  fs::path trace(settings.trace_path);
  std::string json = "{\"trace\":{\"path\":";
  append_json_string(json, trace.string());
  json += ",\"name\":";
  append_json_string(json, trace.filename().string());
  json += ",\"directory\":";
  append_json_string(json, trace.parent_path().string());
  json += ",\"suggested_save\":";
  append_json_string(json, settings.suggested_save);
  json += ",\"skipped_entries\":" + std::to_string(doc.skipped_entries);
  json += ",\"executed_lines\":" + std::to_string(doc.executed_lines);
  json += doc.is_stack ? ",\"stack\":true" : ",\"stack\":false";
  json += "},\"options\":{\"patterns\":";
  json += settings.patterns ? "true" : "false";
  json += ",\"hide_imports\":";
  json += settings.hide_imports ? "true" : "false";
  json += "},\"metadata\":";
  json += doc.metadata();
  json += ',';
  append_summary(json, doc.summary);
  json += ",\"strings\":[";
  for (size_t i = 0; i < doc.strings.size(); ++i) {
    if (i) json += ',';
    append_json_string(json, doc.strings[i]);
  }
  json += "],\"threads\":[";
  for (size_t i = 0; i < doc.threads.size(); ++i) {
    const DocumentThread& t = doc.threads[i];
    if (i) json += ',';
    json +=
        "{\"thread_id\":" + std::to_string(t.thread_id) + ",\"pid\":" + std::to_string(t.pid) + ",\"name\":";
    append_json_string(json, t.name);
    json += ",\"calls\":" + std::to_string(t.calls) + '}';
  }
  json += ']';

  // Offsets in the header count from the end of the header (padded to a
  // multiple of 8), so they do not depend on its length.
  size_t offset = 0;
  for (const char* table : {"calls", "groups"}) {
    json += ",\"";
    json += table;
    json += "\":{\"count\":" + std::to_string(std::string_view(table) == "calls" ? n : g) + ",\"columns\":{";
    bool first = true;
    for (Column& c : columns_) {
      if (c.table != table) continue;
      if (!first) json += ',';
      first = false;
      append_json_string(json, c.name);
      json += ":{\"type\":\"" + c.type + "\",\"offset\":" + std::to_string(offset) + '}';
      c.offset = offset;  // made absolute below
      offset = aligned(offset + c.count * c.width);
    }
    json += "}}";
  }
  json += '}';
  // The page decodes the header as one string, which a browser holds up to
  // 2^29 characters or so; the strings of any trace the tools write are far fewer.
  if (json.size() > kMaxHeaderBytes)
    throw Error("the trace's names and locations take " + std::to_string(json.size() >> 20) +
                " MiB, more than the page can take (" + std::to_string(kMaxHeaderBytes >> 20) + " MiB)");
  header_ = std::string(kAlignment, '\0') + json;
  header_.resize(aligned(header_.size()), ' ');  // whitespace after the JSON text: still the same JSON
  for (Column& c : columns_) c.offset += header_.size();
  size_ = header_.size() + offset;
  auto length = static_cast<uint32_t>(header_.size() - kAlignment);
  for (int i = 0; i < 4; ++i) header_[i] = static_cast<char>((length >> (8 * i)) & 0xff);
}

size_t ViewModel::read(size_t offset, char* out, size_t length) const {
  size_t done = 0;
  auto copy = [&](size_t part_offset, size_t part_size, auto&& bytes_at) {
    if (offset + done < part_offset || offset + done >= part_offset + part_size) return;
    size_t from = offset + done - part_offset;
    size_t n = std::min(length - done, part_size - from);
    bytes_at(from, out + done, n);
    done += n;
  };
  copy(0, header_.size(),
       [&](size_t from, char* to, size_t n) { std::memcpy(to, header_.data() + from, n); });
  for (const Column& c : columns_) {
    if (done == length) break;
    size_t bytes = c.count * c.width;
    // The gap before the next column is zeros.
    copy(c.offset, aligned(bytes), [&](size_t from, char* to, size_t n) {
      for (size_t i = 0; i < n;) {
        size_t at = from + i;
        if (at >= bytes) {
          size_t zeros = n - i;
          std::memset(to + i, 0, zeros);
          i += zeros;
        } else if (c.int64_as_double) {
          double value = static_cast<double>(static_cast<const int64_t*>(c.values)[at / 8]);
          size_t k = std::min(n - i, 8 - at % 8);
          std::memcpy(to + i, reinterpret_cast<const char*>(&value) + at % 8, k);
          i += k;
        } else {
          size_t k = std::min(n - i, bytes - at);
          std::memcpy(to + i, static_cast<const char*>(c.values) + at, k);
          i += k;
        }
      }
    });
  }
  return done;
}

namespace {

// JSON text without the spaces and line breaks between its tokens.
std::string compact_json(std::string_view text) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size())
        out += text[++i];
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      out += c;
    }
  }
  return out;
}

// Past this size the arguments are not parsed for a preview: their text,
// compacted, stands for them.
constexpr size_t kMaxPreviewedArguments = 64 << 10;

}  // namespace

std::string argument_preview(std::string_view arguments_json, size_t limit) {
  namespace od = simdjson::ondemand;
  std::string line;
  if (arguments_json.size() > kMaxPreviewedArguments) {
    line = compact_json(arguments_json.substr(0, 4 * limit));
    if (line.starts_with('{')) line.erase(0, 1);
    if (line.size() <= limit) return line + "…";
  } else {
    simdjson::padded_string padded(arguments_json);
    od::parser parser;  // its memory goes with the request
    try {
      od::document document = parser.iterate(padded);
      for (auto field : document.get_object()) {
        if (!line.empty()) line += ", ";
        line += std::string_view(field.unescaped_key());
        line += '=';
        od::value value = field.value();
        switch (value.type()) {
          case od::json_type::string:
            line += std::string_view(value.get_string());
            break;
          case od::json_type::object: {
            od::object inner = value.get_object();
            line += compact_json(std::string_view(inner.raw_json()));
            break;
          }
          case od::json_type::array: {
            od::array inner = value.get_array();
            line += compact_json(std::string_view(inner.raw_json()));
            break;
          }
          default: {  // a number, true, false or null: its token, without the spaces after it
            std::string_view token = value.raw_json_token();
            while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
              token.remove_suffix(1);
            line += token;
          }
        }
        if (line.size() > limit) break;
      }
    } catch (const simdjson::simdjson_error&) {
      if (line.empty()) return "";  // not an object: no preview; else what was read
    }
  }
  if (line.size() <= limit) return line;
  size_t cut = limit > 3 ? limit - 3 : 0;  // room for "…"
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return line.substr(0, cut) + "…";
}

}  // namespace pytrace::viewer
