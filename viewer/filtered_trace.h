// SPDX-License-Identifier: MIT
// "Save filtered data": a new trace document holding the calls the page
// shows, written next to the original.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trace_document.h"

namespace pytrace::viewer {

// The name the page asked for, checked: a plain file name (no directory
// part, no "..", not hidden, printable), ".json" appended when missing.
// Throws pytrace::Error saying what is wrong with it.
std::string checked_save_name(std::string_view requested);

struct FilterRecord {
  nlohmann::ordered_json filters;  // the page's filter settings, recorded as given
  std::string source;              // the original trace's file name
  std::string applied_at;          // ISO 8601 local time
};

// A JSON object's text, read once: where each top-level key's value is,
// and the text with some of them set. Everything else stays byte for byte,
// so numbers keep every digit (a DOM would turn big ints into doubles).
class ObjectText {
 public:
  // Throws pytrace::Error naming entry `call` if the text is not a JSON object.
  ObjectText(std::string_view text, uint32_t call);
  std::optional<std::string_view> value(std::string_view key) const;
  // The text with these keys set: replaced in place, or added at the end.
  std::string with(const std::vector<std::pair<std::string_view, std::string>>& values) const;

 private:
  std::string_view text_;
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> spans_;  // key -> (position, length)
};

// The document with only the `kept` calls (ascending indices). Every kept
// call's parent becomes its nearest kept ancestor; ids, parent ids and
// depths are renumbered to match, and `original_id` keeps the old id. The
// metadata records the filter as the original tool did (filtered,
// filter_applied_at, original_total_calls, filtered_total_calls,
// filters_applied) plus filtered_from; thread call counts and test ids are
// updated. Pattern groups are left out: the viewer finds them again.
// Written piece by piece through `write` (never whole in memory). Throws
// pytrace::Error, before writing anything, when `kept` is not ascending or
// out of range.
void write_filtered_document(const TraceDocument& doc, std::span<const uint32_t> kept,
                             const FilterRecord& record, const std::function<void(std::string_view)>& write);
// The same as one string.
std::string filtered_document(const TraceDocument& doc, std::span<const uint32_t> kept,
                              const FilterRecord& record);

}  // namespace pytrace::viewer
