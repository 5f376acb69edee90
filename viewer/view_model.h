// SPDX-License-Identifier: MIT
// The document as the page receives it (GET /api/model): a JSON header
// (the trace, options, metadata, summary, the table of strings, threads,
// and where each column is) followed by columns of numbers, one value per
// call or per pattern group, which the page takes as typed arrays without
// parsing. A JSON text of tens of millions of numbers would pass what a
// browser can hold in one string; these bytes are read from the
// document's own columns, so the server keeps no copy per call.
//
// Layout: bytes 0-3 the header's length (little-endian), 4-7 zero, the
// header (padded with spaces to a multiple of 8 bytes), then the columns,
// little-endian; the header gives each column's type ("i32", "f64", "u8")
// and offset from the header's end, a multiple of 8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trace_document.h"

namespace pytrace::viewer {

struct ViewSettings {
  std::string trace_path;      // absolute
  bool patterns = true;        // start with pattern groups shown
  bool hide_imports = false;   // start with imports hidden
  std::string suggested_save;  // file name offered for "save filtered data"
};

class ViewModel {
 public:
  // Keeps a reference to `doc`, which must outlive it.
  ViewModel(const TraceDocument& doc, const ViewSettings& settings);

  size_t size() const { return size_; }
  const std::string& header() const { return header_; }
  // Copies up to `length` bytes of the model from `offset` to `out`;
  // returns how many (0 at the end).
  size_t read(size_t offset, char* out, size_t length) const;

 private:
  struct Column {
    std::string table, name, type;  // type as the header names it
    const void* values;
    size_t count, width;
    bool int64_as_double = false;  // int64 values sent as doubles (the page's numbers)
    size_t offset = 0;             // in the model
  };
  void add(std::string table, std::string name, const void* values, size_t count, size_t width,
           const char* type, bool int64_as_double = false);

  std::vector<Column> columns_;
  std::vector<int32_t> group_fields_;  // the groups' fields, as columns one after another
  std::string header_;                 // with its 8-byte prefix and padding
  size_t size_ = 0;
};

// A call's arguments in a line of at most `limit` bytes, for its row:
// `n=3, name='x'` from {"n": "3", "name": "'x'"} (values are the reprs the
// tracer recorded; other JSON values as written), cut with "…" at a
// character's boundary. "" for no arguments or text that is not an object.
std::string argument_preview(std::string_view arguments_json, size_t limit);

}  // namespace pytrace::viewer
