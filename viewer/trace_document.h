// SPDX-License-Identifier: MIT
// A trace document loaded for the viewer: the entries' own JSON text, kept
// for the detail panel and for saving, and compact columns for the tree.
//
// Accepts the documented trace (docs/json-format.md), the original tool's
// document (no `id`/`parent_id`: the tree is rebuilt from `depth`) and its
// legacy bare list. Pattern groups are found again here with the tool's own
// grouper, so every document gets them, including filtered ones.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/json_text.h"  // json_depth, checked against kMaxJsonDepth

namespace pytrace::viewer {

// JSON nested deeper than this is refused, in a trace's metadata and in a
// request: writing it back (a save) recurses once per level. A trace's own
// metadata is four levels deep.
inline constexpr size_t kMaxJsonDepth = 64;

// Bits of TraceDocument::flags.
enum CallFlag : uint8_t {
  kExternal = 1,      // is_external
  kImport = 2,        // an import: a module body being imported, or code run by one
  kBeforeTrace = 4,   // started_before_trace
  kTest = 8,          // a test entry (trace_pytest)
  kNoDuration = 16,   // duration_ns is null: the call never returned
  kTestFailed = 32,   // test entry whose outcome is "failed"
  kTestSkipped = 64,  // test entry whose outcome is "skipped"
};

struct DocumentThread {
  int64_t thread_id = 0;  // 0 when the document has no thread ids
  int64_t pid = 0;
  std::string name;  // empty when unknown
  uint32_t calls = 0;
};

// One pattern group over the whole document's calls (global indices).
struct DocumentGroup {
  int32_t parent = -1;        // the call whose children repeat; -1: the top level
  uint32_t first = 0;         // first call of the group
  uint32_t last = 0;          // last call, descendants included
  uint32_t template_end = 0;  // one past the first repetition's last call
  uint32_t period = 0;
  uint32_t repetitions = 0;
  int32_t outer = -1;  // group whose template holds this one
};

struct Summary {
  uint64_t calls = 0;  // function calls (test entries are counted apart)
  uint64_t internal = 0;
  uint64_t external = 0;
  uint64_t imports = 0;
  uint64_t unique_functions = 0;  // distinct (file, qualified name)
  uint64_t unique_locations = 0;  // distinct location strings
  std::map<std::string, uint64_t> call_types;
  uint64_t tests = 0, tests_failed = 0, tests_skipped = 0;
  uint64_t lost = 0;           // records lost, calls and returns left unmatched, malformed records
  uint64_t unread_frames = 0;  // probe hits whose frame could not be read (matched by name)
  uint64_t open_at_end = 0;
};

// Told how far loading has come: in which phase ("decompressing",
// "indexing"), bytes done and of how many (0: not known).
using LoadProgress = std::function<void(std::string_view phase, uint64_t done, uint64_t total)>;

class TraceDocument {
 public:
  // Reads and checks the file. Throws pytrace::Error with a message that
  // names the file and what is wrong with it. A compressed file is
  // decompressed into an unnamed temporary file in `scratch_directory`
  // (pytrace_view passes $TMPDIR, or /var/tmp).
  static TraceDocument load(const std::string& path, bool find_groups = true,
                            const LoadProgress& progress = {},
                            const std::string& scratch_directory = "/var/tmp");
  // The same from text already in memory; `name` is used in messages.
  static TraceDocument parse(std::string text, const std::string& name, bool find_groups = true);

  TraceDocument(TraceDocument&&) noexcept;
  TraceDocument& operator=(TraceDocument&&) noexcept;
  ~TraceDocument();

  size_t size() const { return entry_offset_.size(); }
  std::string_view raw_entry(size_t call) const;
  // The metadata object's JSON text, or "null".
  std::string_view metadata() const { return metadata_; }

  // Columns, one value per call, in document order (parents before their
  // children, a call's descendants right after it).
  std::vector<int32_t> parent;  // -1 at the top
  std::vector<int32_t> depth;
  std::vector<uint32_t> subtree_end;  // one past the call's last descendant
  std::vector<uint32_t> thread;       // index into threads
  std::vector<uint32_t> name, qualname, location, call_type, call_site;  // into strings
  std::vector<uint32_t> imports;     // the module an import entry imports, into strings ("" for none)
  std::vector<int64_t> start_ns;     // from the trace's start; -1 when the document has none
  std::vector<int64_t> duration_ns;  // -1 when null
  std::vector<uint8_t> flags;
  // The call's position in trace_data, where entries that are not calls
  // are among the calls (skipped_entries > 0); empty where they are not.
  std::vector<uint32_t> entry_id;

  std::vector<std::string> strings;  // strings[0] is ""
  std::vector<DocumentThread> threads;
  std::vector<DocumentGroup> groups;  // by first call, outer groups first
  Summary summary;
  uint64_t skipped_entries = 0;  // entries that are not calls (executed_line entries among them)
  uint64_t executed_lines = 0;   // lines the executed_line entries hold
  bool is_stack = false;         // trace_where's document: one stack, innermost first in the file

  // The call's JSON as written, with the executed_line entries of its
  // frame added as "executed_lines" when there are any.
  std::string entry_json(size_t call) const;

 private:
  TraceDocument();

 public:
  struct Text;  // the bytes: a mapped file or text in memory

 private:
  std::unique_ptr<Text> text_;          // owns the bytes the entries and metadata_ are in
  std::vector<uint64_t> entry_offset_;  // each call's JSON text: where it starts in text_
  std::vector<uint32_t> entry_size_;    // ... and its length
  std::unordered_map<uint32_t, std::vector<std::string_view>> lines_of_call_;
  std::string_view metadata_;
  friend class DocumentReader;
};

}  // namespace pytrace::viewer
