// SPDX-License-Identifier: MIT
#include "trace_document.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/patterns.h"
#include "io/compression.h"

namespace pytrace::viewer {

namespace ondemand = simdjson::ondemand;

// The document's bytes, followed by the zeroed padding simdjson may read
// past their end: a file mapped (its pages are the page cache's, which the
// kernel drops under memory pressure and reads again, so a trace larger
// than the viewer's memory can be shown), or text in memory.
struct TraceDocument::Text {
  simdjson::padded_string owned;
  void* mapping = nullptr;
  size_t mapping_size = 0;
  const char* data = nullptr;
  size_t size = 0;

  Text() = default;
  Text(const Text&) = delete;
  Text& operator=(const Text&) = delete;
  ~Text() {
    if (mapping) munmap(mapping, mapping_size);
  }
  void own(simdjson::padded_string text) {
    owned = std::move(text);
    data = owned.data();
    size = owned.size();
  }
  const char* padded_end() const { return data + size + simdjson::SIMDJSON_PADDING; }
};

namespace {

// Maps `size` bytes of file `fd` read-only, followed by zeroed pages for
// the padding (a mapping past the end of a file would fault there).
bool map_file(int fd, size_t size, TraceDocument::Text& text) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t length = (size + simdjson::SIMDJSON_PADDING + page - 1) / page * page;
  void* region = mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) return false;
  if (mmap(region, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
    munmap(region, length);
    return false;
  }
  text.mapping = region;
  text.mapping_size = length;
  text.data = static_cast<const char*>(region);
  text.size = size;
  return true;
}

}  // namespace

TraceDocument::TraceDocument() : text_(std::make_unique<Text>()) {}
TraceDocument::TraceDocument(TraceDocument&&) noexcept = default;
TraceDocument& TraceDocument::operator=(TraceDocument&&) noexcept = default;
TraceDocument::~TraceDocument() = default;

std::string_view TraceDocument::raw_entry(size_t call) const {
  return {text_->data + entry_offset_[call], entry_size_[call]};
}

std::string TraceDocument::entry_json(size_t call) const {
  std::string_view raw = raw_entry(call);
  auto lines = lines_of_call_.find(static_cast<uint32_t>(call));
  if (lines == lines_of_call_.end() || raw.empty() || raw.back() != '}') return std::string(raw);
  std::string out(raw.substr(0, raw.size() - 1));
  out += ",\"executed_lines\":[";
  for (size_t i = 0; i < lines->second.size(); ++i) {
    if (i) out += ',';
    out += lines->second[i];
  }
  return out + "]}";
}

namespace {

// How deeply an entry may nest: simdjson's own limit.
constexpr size_t kMaxEntryDepth = 1024;
// How long one entry may be. The tools' are at most kilobytes (argument
// values are short texts); an executed_line entry lists line numbers.
constexpr size_t kMaxEntryBytes = size_t{64} << 20;

// String interning without a copy per lookup.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What one entry says, before the tree is linked.
struct EntryFields {
  std::string_view event, name, qualname, location, call_type, call_site, file, test_outcome, importing;
  bool is_external = false, before_trace = false;
  bool has_id = false, has_parent_id = false, has_caller_id = false, has_depth = false, has_duration = false;
  int64_t id = -1, parent_id = -1, caller_id = -1, depth = 0, thread_id = 0, pid = 0, start_ns = -1,
          duration_ns = -1;
  int64_t call_id = -1;  // an executed_line entry's call
  uint64_t lines = 0;    // how many lines an executed_line entry holds
};

// Reads an integer, or null as `null_value`.
int64_t int_or(ondemand::value value, int64_t null_value) {
  if (value.is_null()) return null_value;
  return value.get_int64();
}

// A string, or "" for null.
std::string_view string_or_empty(ondemand::value value) {
  if (value.is_null()) return {};
  return value.get_string();
}

EntryFields read_fields(ondemand::object entry) {
  EntryFields f;
  for (auto field : entry) {
    std::string_view key = field.unescaped_key();
    ondemand::value value = field.value();
    if (key == "event")
      f.event = value.get_string();
    else if (key == "name")
      f.name = string_or_empty(value);
    else if (key == "qualname")
      f.qualname = string_or_empty(value);
    else if (key == "location")
      f.location = string_or_empty(value);
    else if (key == "call_type")
      f.call_type = string_or_empty(value);
    else if (key == "parent_call")
      f.call_site = string_or_empty(value);
    else if (key == "file")
      f.file = string_or_empty(value);
    else if (key == "test_outcome")
      f.test_outcome = string_or_empty(value);
    else if (key == "is_external")
      f.is_external = value.get_bool();
    else if (key == "importing")
      f.importing = string_or_empty(value);
    else if (key == "started_before_trace")
      f.before_trace = value.get_bool();
    else if (key == "id")
      f.has_id = true, f.id = value.get_int64();
    else if (key == "parent_id")
      f.has_parent_id = true, f.parent_id = int_or(value, -1);
    else if (key == "caller_id")
      f.has_caller_id = true, f.caller_id = int_or(value, -1);
    else if (key == "depth")
      f.has_depth = true, f.depth = value.get_int64();
    else if (key == "thread_id")
      f.thread_id = value.get_int64();
    else if (key == "pid")
      f.pid = value.get_int64();
    else if (key == "start_ns")
      f.start_ns = int_or(value, -1);
    else if (key == "duration_ns")
      f.has_duration = true, f.duration_ns = int_or(value, -1);
    else if (key == "call_id")
      f.call_id = int_or(value, -1);
    else if (key == "lines" && value.type() == ondemand::json_type::array) {
      ondemand::array lines = value.get_array();
      f.lines = lines.count_elements();
    }
  }
  return f;
}

}  // namespace

// Fills a TraceDocument from its text; one use.
class DocumentReader {
 public:
  DocumentReader(TraceDocument& doc, std::string name) : doc_(doc), name_(std::move(name)) {
    doc_.strings.emplace_back();
    ids_.emplace("", 0);
  }

  void read(bool find_groups, const LoadProgress& progress) {
    const TraceDocument::Text& text = *doc_.text_;
    at_ = text.data;
    end_ = text.data + text.size;
    progress_ = progress;
    skip_space();
    if (at_ < end_ && *at_ == '[') {
      read_entries();  // the original tool's legacy document
    } else if (at_ < end_ && *at_ == '{') {
      read_object();
    } else if (at_ < end_ && (std::strchr("-0123456789\"tfn", *at_) != nullptr)) {
      std::string_view scalar = take_value("the document");
      if (!valid_json(scalar)) fail_json("the document is not a JSON value");
      fail("it is neither a trace document (an object) nor a list of calls");
    } else {
      fail_json("the document is not a JSON value");
    }
    skip_space();
    if (at_ != end_) fail_json("there is more text after the document");
    if (doc_.metadata_.empty()) doc_.metadata_ = "null";
    if (progress_) progress_("indexing", text.size, text.size);
    link_tree();
    depth_given_ = {};
    read_metadata();
    summarize();
    call_of_entry_ = {};
    if (find_groups) {
      if (progress_) progress_("finding repeated calls", 0, 0);
      this->find_groups();
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error("cannot show " + name_ + ": " + what); }
  [[noreturn]] void fail_json(const std::string& what) const {
    fail("not valid JSON (" + what + ")" + where());
  }
  std::string where() const {
    return entry_index_ < 0 ? "" : " in entry " + std::to_string(entry_index_) + " of trace_data";
  }

  // ---- The document's outer structure ---------------------------------------
  // Walked here without parsing the document whole: simdjson keeps an index
  // of 4 bytes per bracket, comma, colon and quote of what it parses (more
  // than the trace itself) and refuses documents over 4 GiB. Only strings
  // and brackets are followed; each entry is parsed on its own, and so
  // checked, by read_entry().

  void skip_space() {
    while (at_ < end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
  }

  void expect(char c, const char* what) {
    skip_space();
    if (at_ >= end_ || *at_ != c) fail_json(what);
    ++at_;
  }

  // Past the string starting at `p` (its opening quote).
  const char* string_end(const char* p) const {
    for (++p;;) {
      auto quote = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end_ - p)));
      if (!quote) fail_json("a string is not closed");
      const char* backslash = quote;
      while (backslash > p && backslash[-1] == '\\') --backslash;
      if ((quote - backslash) % 2 == 0) return quote + 1;  // not escaped
      p = quote + 1;
    }
  }

  // The text of the JSON value at at_, which it moves past. A string, an
  // object or an array is followed to its end; a number or literal goes to
  // the next delimiter. Brackets nested deeper than `max_depth` are refused,
  // naming the value as `what`.
  std::string_view take_value(std::string_view what, size_t max_depth = kMaxEntryDepth) {
    skip_space();
    const char* begin = at_;
    if (at_ >= end_) fail_json("the document ends early");
    if (*at_ == '"') {
      at_ = string_end(at_);
    } else if (*at_ == '{' || *at_ == '[') {
      std::string closers;  // what closes each open bracket
      while (true) {
        if (at_ >= end_) fail_json("the document ends early");
        char c = *at_;
        if (c == '"') {
          at_ = string_end(at_);
          continue;
        }
        if (c == '{' || c == '[') {
          if (closers.size() >= max_depth)
            fail(std::string(what) + " is nested more than " + std::to_string(max_depth) + " levels deep");
          closers.push_back(c == '{' ? '}' : ']');
        } else if (c == '}' || c == ']') {
          if (c != closers.back()) fail_json("a bracket does not match");
          closers.pop_back();
          if (closers.empty()) {
            ++at_;
            break;
          }
        }
        ++at_;
      }
    } else {
      while (at_ < end_ && !std::strchr(",]} \t\n\r", *at_)) ++at_;
      if (at_ == begin) fail_json("a value is missing");
    }
    return {begin, static_cast<size_t>(at_ - begin)};
  }

  // Whether `text` is valid JSON, checked whole (simdjson's DOM parser;
  // its on-demand one checks only what is read).
  static bool valid_json(std::string_view text) {
    simdjson::dom::parser parser;
    return !parser.parse(text.data(), text.size(), true).error();
  }

  // A key as written, between its quotes: unescaped when it has escapes.
  std::string unescaped_key(std::string_view quoted) const {
    if (quoted.find('\\') == std::string_view::npos) return std::string(quoted.substr(1, quoted.size() - 2));
    nlohmann::json key = nlohmann::json::parse(quoted, nullptr, false);
    if (!key.is_string()) fail_json("a key is not a valid string");
    return key.get<std::string>();
  }

  void read_object() {
    ++at_;  // {
    bool has_entries = false, has_metadata = false;
    skip_space();
    if (at_ < end_ && *at_ == '}') {
      ++at_;
    } else {
      while (true) {
        skip_space();
        if (at_ >= end_ || *at_ != '"') fail_json("a key is missing");
        std::string key = unescaped_key(take_value("a key"));
        expect(':', "a colon is missing after a key");
        skip_space();
        if (key == "metadata") {
          if (has_metadata) fail("it has two \"metadata\" objects");
          has_metadata = true;
          std::string_view metadata = take_value("its metadata", kMaxJsonDepth);
          if (metadata.front() == '{') {
            doc_.metadata_ = metadata;
            // trace_where's document: its metadata names the breakpoint.
            doc_.is_stack = has_key(metadata, "breakpoint");
            if (doc_.is_stack && has_entries)
              fail("its metadata (a trace_where stack's) comes after trace_data; it must come first");
          } else if (metadata != "null") {
            fail("its \"metadata\" is not an object");
          }
        } else if (key == "trace_data") {
          if (has_entries) fail("it has two \"trace_data\" lists");
          if (at_ >= end_ || *at_ != '[') {
            take_value("trace_data");
            fail("\"trace_data\" is not a list");
          }
          read_entries();
          has_entries = true;
        } else {
          std::string what = "its \"" + key + "\"";
          if (!valid_json(take_value(what))) fail_json("in " + what);
        }
        skip_space();
        if (at_ < end_ && *at_ == ',') {
          ++at_;
          continue;
        }
        expect('}', "a comma or the end of the object is missing");
        break;
      }
    }
    if (!has_entries) fail("it has no \"trace_data\" list; is it a pytrace trace?");
  }

  // The list at at_: each entry is taken and read.
  void read_entries() {
    ++at_;  // [
    const char* buffer_end = doc_.text_->padded_end();
    ondemand::parser inner;
    auto add = [&](std::string_view raw) {
      try {
        // The rest of the buffer is the entry's padding.
        ondemand::document entry =
            inner.iterate(raw.data(), raw.size(), static_cast<size_t>(buffer_end - raw.data()));
        EntryFields f = read_fields(entry.get_object());
        add_entry(f, raw);
      } catch (const simdjson::simdjson_error& e) {
        fail_json(simdjson::error_message(e.error()));
      }
    };
    // trace_where's document lists a stack innermost first: shown outermost
    // first, it is a tree of one branch.
    std::vector<std::string_view> stack;
    skip_space();
    bool empty = at_ < end_ && *at_ == ']';
    if (empty) ++at_;
    for (int64_t index = 0; !empty; ++index) {
      entry_index_ = index;  // in messages (a stack's are numbered again below)
      std::string name = "entry " + std::to_string(index);
      std::string_view raw = take_value(name);
      entry_index_ = -1;
      if (raw.front() != '{') fail(name + " is not an object");
      // simdjson's index of an entry takes about 4 bytes per byte of it.
      if (raw.size() > kMaxEntryBytes)
        fail(name + " is larger than " + std::to_string(kMaxEntryBytes >> 20) +
             " MiB; no trace the tools write has one");
      entry_index_ = index;
      if (doc_.is_stack)
        stack.push_back(raw);
      else
        add(raw);
      if (progress_ && index % 65536 == 0)
        progress_("indexing", static_cast<uint64_t>(at_ - doc_.text_->data), doc_.text_->size);
      skip_space();
      if (at_ < end_ && *at_ == ',') {
        ++at_;
        continue;
      }
      entry_index_ = -1;
      expect(']', "a comma or the end of trace_data is missing");
      break;
    }
    entry_index_ = -1;
    int64_t index = 0;
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      entry_index_ = index++;
      add(*it);
    }
    entry_index_ = -1;
  }

  // Whether the object whose JSON text `raw` is (inside the document's
  // padded buffer) has `key` at its top level.
  bool has_key(std::string_view raw, std::string_view key) const {
    const char* buffer_end = doc_.text_->padded_end();
    ondemand::parser parser;
    try {
      ondemand::document object =
          parser.iterate(raw.data(), raw.size(), static_cast<size_t>(buffer_end - raw.data()));
      for (auto field : object.get_object())
        if (field.unescaped_key() == key) return true;
    } catch (const simdjson::simdjson_error& e) {
      fail("its metadata is not valid JSON (" + std::string(simdjson::error_message(e.error())) + ")");
    }
    return false;
  }

  uint32_t intern(std::string_view text) {
    auto it = ids_.find(text);
    if (it != ids_.end()) return it->second;
    auto id = static_cast<uint32_t>(doc_.strings.size());
    doc_.strings.emplace_back(text);
    ids_.emplace(doc_.strings.back(), id);
    return id;
  }

  // The call that entry `entry` (one before the current) is; -1 for an
  // entry that is not a call. Entries and calls are the same until the
  // first entry that is not a call.
  int32_t call_of_entry(int64_t entry) const {
    return call_of_entry_.empty() ? static_cast<int32_t>(entry) : call_of_entry_[entry];
  }

  void add_entry(const EntryFields& f, std::string_view raw) {
    bool is_test = f.event == "test";
    auto call = static_cast<int32_t>(doc_.size());
    if (!f.event.empty() && f.event != "function_call" && !is_test) {
      if (call_of_entry_.empty()) {  // from here on, calls and entries are numbered apart
        call_of_entry_.resize(call);
        std::iota(call_of_entry_.begin(), call_of_entry_.end(), 0);
        doc_.entry_id.assign(call_of_entry_.begin(), call_of_entry_.end());
      }
      ++doc_.skipped_entries;  // not a call: an executed_line entry, or an unknown one
      call_of_entry_.push_back(-1);
      if (f.event == "executed_line") {
        doc_.executed_lines += f.lines;
        // Listed with the call that ran them (call_id; the original's have none).
        if (f.call_id >= 0 && f.call_id < entry_index_ && call_of_entry(f.call_id) >= 0)
          doc_.lines_of_call_[call_of_entry(f.call_id)].push_back(raw);
      }
      return;
    }
    if (f.has_id && f.id != entry_index_)
      fail("entry " + std::to_string(entry_index_) + " has id " + std::to_string(f.id) +
           "; ids must be the entries' positions in trace_data");
    if (!call_of_entry_.empty()) {
      call_of_entry_.push_back(call);
      doc_.entry_id.push_back(static_cast<uint32_t>(entry_index_));
    }
    doc_.entry_offset_.push_back(static_cast<uint64_t>(raw.data() - doc_.text_->data));
    doc_.entry_size_.push_back(static_cast<uint32_t>(raw.size()));

    if (call == 0)
      by_id_ = f.has_parent_id;
    else if (by_id_ != f.has_parent_id)
      fail("entry " + std::to_string(entry_index_) + (by_id_ ? " has no" : " has a") +
           " parent_id, unlike the first entry");
    // The tree is drawn by caller where the document says who called (a
    // callback inside the library call it came through), else by parent.
    if (f.has_caller_id) by_caller_ = true;
    int64_t parent_entry = !by_id_ ? -1 : f.has_caller_id ? f.caller_id : f.parent_id;
    int32_t parent = -1;
    if (parent_entry >= 0) {
      if (parent_entry >= entry_index_ || call_of_entry(parent_entry) < 0)
        fail("entry " + std::to_string(entry_index_) +
             (f.has_caller_id ? " has caller_id " : " has parent_id ") + std::to_string(parent_entry) +
             ", which is not a call before it");
      parent = call_of_entry(parent_entry);
    }
    doc_.parent.push_back(parent);
    depth_given_.push_back(f.has_depth ? static_cast<int32_t>(std::clamp<int64_t>(f.depth, -1, INT32_MAX))
                                       : -1);

    auto [thread_it, new_thread] = thread_index_.try_emplace(f.thread_id, doc_.threads.size());
    if (new_thread) {
      doc_.threads.push_back({.thread_id = f.thread_id, .pid = f.pid, .name = {}, .calls = 0});
    } else if (thread_it->second != doc_.threads.size() - 1) {
      fail("the entries of thread " + std::to_string(f.thread_id) +
           " are not together; entries must be grouped by thread");
    }
    doc_.thread.push_back(static_cast<uint32_t>(thread_it->second));
    doc_.threads[thread_it->second].calls++;

    std::string_view qualname = f.qualname.empty() ? f.name : f.qualname;
    doc_.name.push_back(intern(f.name));
    doc_.qualname.push_back(intern(qualname));
    doc_.location.push_back(intern(f.location));
    doc_.call_type.push_back(intern(is_test ? "test" : f.call_type.empty() ? "unknown" : f.call_type));
    doc_.call_site.push_back(intern(f.call_site));
    // Only _find_and_load and a module's body say which module they import
    // (core/trace_model.h, imported_module); the rest of the import
    // machinery runs within some import, not necessarily that one.
    bool names_import = f.call_type == "import" && (f.name == "_find_and_load" || f.name == "<module>");
    doc_.imports.push_back(names_import ? intern(f.importing) : 0);
    // A function is its file (or the file part of its location) and qualified name.
    std::string_view file = f.file.empty() ? f.location.substr(0, f.location.rfind(':')) : f.file;
    functions_.insert((uint64_t{intern(file)} << 32) | doc_.qualname.back());
    doc_.start_ns.push_back(f.start_ns);
    doc_.duration_ns.push_back(f.duration_ns);

    uint8_t flags = 0;
    if (f.is_external) flags |= kExternal;
    if (f.call_type == "import" || !f.importing.empty() || f.location.starts_with("<frozen importlib"))
      flags |= kImport;
    if (f.before_trace) flags |= kBeforeTrace;
    if (is_test) flags |= kTest;
    if (f.duration_ns < 0) flags |= kNoDuration;
    if (f.test_outcome == "failed") flags |= kTestFailed;
    if (f.test_outcome == "skipped") flags |= kTestSkipped;
    doc_.flags.push_back(flags);
  }

  // Checks that every call's parent is open when it starts (so a call's
  // descendants follow it), fills parents from depth where the document has
  // no parent_id, and the depths and subtree ends.
  void link_tree() {
    size_t n = doc_.size();
    std::vector<int32_t> open;
    doc_.depth.resize(n);
    for (size_t i = 0; i < n; ++i) {
      int32_t& parent = doc_.parent[i];
      if (i > 0 && doc_.thread[i] != doc_.thread[i - 1]) open.clear();
      if (by_id_) {
        while (!open.empty() && open.back() != parent) open.pop_back();
        if (parent >= 0 && open.empty())
          fail("call " + std::to_string(i) + " starts after its parent " + std::to_string(parent) +
               " has ended; entries must be in call order");
      } else {
        // The original tool's document: the parent is the last call one level up.
        auto depth = static_cast<size_t>(std::max<int32_t>(depth_given_[i], 0));
        if (open.size() > depth) open.resize(depth);
        parent = open.empty() ? -1 : open.back();
      }
      // A tree by caller has its own depths (the document's count in-scope calls).
      doc_.depth[i] = depth_given_[i] >= 0 && !by_caller_ ? static_cast<int32_t>(depth_given_[i])
                      : parent >= 0                       ? doc_.depth[parent] + 1
                                                          : 0;
      open.push_back(static_cast<int32_t>(i));
    }
    doc_.subtree_end.resize(n);
    for (size_t i = 0; i < n; ++i) doc_.subtree_end[i] = static_cast<uint32_t>(i + 1);
    for (size_t i = n; i-- > 0;) {
      if (doc_.parent[i] >= 0)
        doc_.subtree_end[doc_.parent[i]] = std::max(doc_.subtree_end[doc_.parent[i]], doc_.subtree_end[i]);
    }
  }

  void read_metadata() {
    if (json_depth(doc_.metadata_) > kMaxJsonDepth)
      fail("its metadata is nested more than " + std::to_string(kMaxJsonDepth) + " levels deep");
    nlohmann::json metadata = nlohmann::json::parse(doc_.metadata_, nullptr, false);
    if (metadata.is_discarded()) fail("its metadata is not valid JSON");
    if (!metadata.is_object()) return;
    if (auto threads = metadata.find("threads"); threads != metadata.end() && threads->is_array()) {
      for (const auto& described : *threads) {
        if (!described.is_object() || !described.contains("thread_id")) continue;
        auto id = described.find("thread_id");
        if (id == described.end() || !id->is_number_integer()) continue;
        auto it = thread_index_.find(id->get<int64_t>());
        if (it == thread_index_.end()) continue;
        if (auto name = described.find("name"); name != described.end() && name->is_string())
          doc_.threads[it->second].name = name->get<std::string>();
      }
    }
    if (auto loss = metadata.find("loss"); loss != metadata.end() && loss->is_object()) {
      // ring_buffer_drops and lost_records count the same records from the
      // kernel's side and the reader's (docs/json-format.md): the larger is the loss.
      uint64_t drops = 0, gaps = 0;
      Summary& s = doc_.summary;
      for (const auto& [key, value] : loss->items()) {
        if (!value.is_number_unsigned()) continue;
        auto n = value.get<uint64_t>();
        if (key == "open_at_end")
          s.open_at_end += n;
        else if (key == "ring_buffer_drops")
          drops = n;
        else if (key == "lost_records")
          gaps = n;
        else if (key == "thread_state_misses" || key == "frame_mismatches")
          s.unread_frames += n;
        else
          s.lost += n;
      }
      s.lost += std::max(drops, gaps);
    }
  }

  void summarize() {
    Summary& s = doc_.summary;
    std::unordered_set<uint32_t> locations;
    for (size_t i = 0; i < doc_.size(); ++i) {
      uint8_t flags = doc_.flags[i];
      if (flags & kTest) {
        s.tests++;
        if (flags & kTestFailed) s.tests_failed++;
        if (flags & kTestSkipped) s.tests_skipped++;
        continue;
      }
      s.calls++;
      (flags & kExternal ? s.external : s.internal)++;
      if (flags & kImport) s.imports++;
      s.call_types[doc_.strings[doc_.call_type[i]]]++;
      locations.insert(doc_.location[i]);
    }
    s.unique_functions = functions_.size();
    s.unique_locations = locations.size();
  }

  // The tool's grouper over each thread's calls; see core/patterns.h.
  void find_groups() {
    size_t n = doc_.size();
    for (size_t begin = 0; begin < n;) {
      size_t end = begin + doc_.threads[doc_.thread[begin]].calls;
      // Alike: same name at the same location (an import: of the same
      // module; its location tells its name); a test only to itself.
      auto key_of = [&](size_t k) -> uint64_t {
        size_t i = begin + k;
        uint32_t module = doc_.imports[i];
        return doc_.flags[i] & kTest ? (uint64_t{1} << 63) | i
               : module              ? (uint64_t{1} << 62) | (uint64_t{doc_.location[i]} << 31) | module
                                     : (uint64_t{doc_.location[i]} << 32) | doc_.name[i];
      };
      auto parent_of = [&](size_t k) -> int64_t {
        int32_t parent = doc_.parent[begin + k];
        return parent < 0 ? -1 : parent - static_cast<int64_t>(begin);
      };
      size_t base = doc_.groups.size();
      for (const PatternGroup& g : find_patterns(end - begin, parent_of, key_of, PatternOptions{})) {
        auto first = static_cast<uint32_t>(begin + g.first);
        uint32_t last_sibling = first;
        for (uint32_t k = 1; k < g.period; ++k) last_sibling = doc_.subtree_end[last_sibling];
        doc_.groups.push_back({
            .parent = g.parent < 0 ? -1 : static_cast<int32_t>(begin + g.parent),
            .first = first,
            .last = static_cast<uint32_t>(begin + g.last),
            .template_end = doc_.subtree_end[last_sibling],
            .period = g.period,
            .repetitions = g.repetitions,
            .outer = g.outer < 0 ? -1 : static_cast<int32_t>(base + g.outer),
        });
      }
      begin = end;
    }
    sort_groups();
  }

  // By first call, an outer group before the groups nested at its start.
  void sort_groups() {
    auto& groups = doc_.groups;
    std::vector<int32_t> order(groups.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      if (groups[a].first != groups[b].first) return groups[a].first < groups[b].first;
      return groups[a].last > groups[b].last;
    });
    std::vector<int32_t> new_index(groups.size());
    for (size_t i = 0; i < order.size(); ++i) new_index[order[i]] = static_cast<int32_t>(i);
    std::vector<DocumentGroup> sorted;
    sorted.reserve(groups.size());
    for (int32_t old : order) {
      sorted.push_back(groups[old]);
      if (sorted.back().outer >= 0) sorted.back().outer = new_index[sorted.back().outer];
    }
    groups = std::move(sorted);
  }

  TraceDocument& doc_;
  std::string name_;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ids_;
  std::unordered_map<int64_t, size_t> thread_index_;
  std::unordered_set<uint64_t> functions_;
  std::vector<int32_t> call_of_entry_;  // by entry index: its call, -1 if skipped
  std::vector<int32_t> depth_given_;    // -1 when the entry has no depth
  int64_t entry_index_ = -1;            // the entry being read, for messages
  const char* at_ = nullptr;            // where the outer structure is read
  const char* end_ = nullptr;
  LoadProgress progress_;
  bool by_id_ = true;       // the tree comes from parent_id, not depth
  bool by_caller_ = false;  // ... or from caller_id, where entries have it
};

TraceDocument TraceDocument::parse(std::string text, const std::string& name, bool find_groups) {
  TraceDocument doc;
  doc.text_->own(simdjson::padded_string(text));
  DocumentReader(doc, name).read(find_groups, {});
  return doc;
}

namespace {

// Decompresses `text` into an unnamed file in `directory` (O_TMPFILE, mode
// 0600: gone when closed) and maps that. The file, not memory, holds the
// text: a trace of tens of GB decompresses within the viewer's memory. A
// file that would expand without end (or past what the directory's file
// system can spare: three quarters of its free space) is refused before it
// fills the disk.
std::unique_ptr<TraceDocument::Text> decompress_to_file(Compression compression,
                                                        const TraceDocument::Text& text,
                                                        const std::string& path, const std::string& directory,
                                                        const LoadProgress& progress) {
  int fd = open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error("cannot decompress " + path + ": no temporary file in " + directory + ": " +
                std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct statvfs space {};
  uint64_t limit = UINT64_MAX;
  if (fstatvfs(fd, &space) == 0) {
    limit = uint64_t{space.f_bavail} * space.f_frsize / 4 * 3;
  }
  size_t written = 0;
  uint64_t pieces = 0;
  try {
    decompress(compression, {text.data, text.size}, [&](std::span<const char> piece) {
      if (written + piece.size() > limit)
        throw Error("it decompresses to more than the " + std::to_string(limit >> 20) + " MiB that " +
                    directory + " can spare");
      for (size_t done = 0; done < piece.size();) {
        ssize_t n = write(fd, piece.data() + done, piece.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
          throw Error("cannot write the decompressed text into " + directory + ": " +
                      std::strerror(n < 0 ? errno : EIO));
        done += static_cast<size_t>(n);
      }
      written += piece.size();
      if (progress && ++pieces % 256 == 0) progress("decompressing", written, 0);
    });
  } catch (const Error& e) {
    throw Error("cannot read " + path + " (" + compression_name(compression) + "): " + e.what());
  }
  if (written == 0) throw Error("cannot show " + path + ": it decompresses to nothing");
  auto decompressed = std::make_unique<TraceDocument::Text>();
  if (!map_file(fd, written, *decompressed))
    throw Error("cannot map the decompressed " + path + ": " + std::strerror(errno));
  return decompressed;
}

}  // namespace

TraceDocument TraceDocument::load(const std::string& path, bool find_groups, const LoadProgress& progress,
                                  const std::string& scratch_directory) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot read " + path + ": " + std::strerror(errno));
  struct stat st {};
  bool is_directory = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  TraceDocument doc;
  bool mapped = !is_directory && st.st_size > 0 && map_file(fd, static_cast<size_t>(st.st_size), *doc.text_);
  int map_error = errno;
  close(fd);
  if (is_directory) throw Error("cannot read " + path + ": it is a directory");
  if (st.st_size == 0) throw Error("cannot show " + path + ": the file is empty");
  if (!mapped) throw Error("cannot read " + path + ": " + std::strerror(map_error));
  // A compressed trace (-o FILE.gz, FILE.zst), known by its first bytes.
  if (Compression compression = compression_of({doc.text_->data, doc.text_->size});
      compression != Compression::kNone)
    doc.text_ = decompress_to_file(compression, *doc.text_, path, scratch_directory, progress);
  DocumentReader(doc, path).read(find_groups, progress);
  return doc;
}

}  // namespace pytrace::viewer
