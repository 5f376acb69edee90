// SPDX-License-Identifier: MIT
// A trace's calls in the formats other tools read (docs/exports.md):
//
//   chrome      Chrome trace events ("X" events in µs, one track per
//               thread, pid per process, arguments as args): Perfetto UI,
//               chrome://tracing, speedscope
//   speedscope  speedscope's file format: one evented profile per thread
//   collapsed   collapsed stacks ("a;b;c SELF_NS"), one line per distinct
//               stack, for flamegraph.pl, inferno and speedscope
//
// Written from a TraceDocument, for the calls the viewer's filters show or
// all of them. A kept call nests under its nearest kept ancestor, as in a
// filtered save. A call that never returned ends where the next call of its
// thread after its subtree starts, or with its thread's last call.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "trace_document.h"

namespace pytrace::viewer {

enum class ExportFormat { chrome, speedscope, collapsed };

// "chrome" (or "perfetto"), "speedscope", "collapsed"; nullopt for others.
std::optional<ExportFormat> parse_export_format(std::string_view name);
// The usual file name ending for a format: ".trace.json", ".speedscope.json", ".folded".
std::string_view export_suffix(ExportFormat format);

// Why the `kept` calls (every call when empty) cannot be exported, or
// nullopt: a call without a start time (the original tool's traces).
std::optional<std::string> export_problem(const TraceDocument& doc, std::span<const uint32_t> kept);

// Writes the `kept` calls (ascending indices; every call when empty and
// `all` is set) in `format`, piece by piece through `write`. Throws
// pytrace::Error, before writing anything, for an export_problem or
// `kept` out of order.
void write_export(const TraceDocument& doc, ExportFormat format, std::span<const uint32_t> kept, bool all,
                  const std::function<void(std::string_view)>& write);

}  // namespace pytrace::viewer
