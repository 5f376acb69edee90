// SPDX-License-Identifier: MIT
// "Save filtered data": a new trace document holding the calls the page
// shows, written next to the original.
#pragma once

#include <cstdint>
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

// The document with only the `kept` calls (ascending indices). Every kept
// call's parent becomes its nearest kept ancestor; ids, parent ids and
// depths are renumbered to match, and `original_id` keeps the old id. The
// metadata records the filter as the original tool did (filtered,
// filter_applied_at, original_total_calls, filtered_total_calls,
// filters_applied) plus filtered_from; thread call counts and test ids are
// updated. Pattern groups are left out: the viewer finds them again.
// Throws pytrace::Error when `kept` is not ascending or out of range.
// An entry's text with the given top-level keys set (replaced in place, or
// added at the end); everything else stays byte for byte, so numbers keep
// every digit. Throws pytrace::Error naming `call` if the text is not JSON.
std::string with_values(std::string_view object,
                        const std::vector<std::pair<std::string_view, std::string>>& values, uint32_t call);
// The text of a top-level key's value, if the object has the key.
std::optional<std::string> top_level_value(std::string_view object, std::string_view key);

std::string filtered_document(const TraceDocument& doc, std::span<const uint32_t> kept,
                              const FilterRecord& record);

}  // namespace pytrace::viewer
