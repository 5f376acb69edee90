// SPDX-License-Identifier: MIT
// The trace as the seed's JSON document plus additive keys
// (docs/json-format.md). Entries are streamed, one per line.
#pragma once

#include <functional>
#include <ostream>

#include "core/scope.h"
#include "core/source_cache.h"
#include "core/trace_model.h"

namespace pytrace {

inline constexpr const char* kSchemaVersion = "1.1";

// `progress`, if given, is told the number of entries written now and then.
void write_json(const TraceModel& model, const Scope& scope, SourceCache& sources, std::ostream& out,
                const std::function<void(size_t written)>& progress = {});

}  // namespace pytrace
