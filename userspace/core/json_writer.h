// SPDX-License-Identifier: MIT
// The trace as the seed's JSON document plus additive keys
// (docs/json-format.md). Entries are streamed, one per line.
#pragma once

#include <ostream>

#include "core/scope.h"
#include "core/source_cache.h"
#include "core/trace_model.h"

namespace pytrace {

inline constexpr const char* kSchemaVersion = "1.0";

void write_json(const TraceModel& model, const Scope& scope, SourceCache& sources, std::ostream& out);

}  // namespace pytrace
