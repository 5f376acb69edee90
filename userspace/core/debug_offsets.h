// SPDX-License-Identifier: MIT
// CPython's _Py_DebugOffsets table (the start of the .PyRuntime section)
// -> the offsets the BPF program reads frames with.
#pragma once

#include <cstdint>
#include <span>
#include <string>

extern "C" {
#include "pytrace.h"
}

namespace pytrace {

struct DebugOffsets {
  pt_python_offsets offsets{};  // offsets.enabled == 0 when unusable
  uint64_t version_hex = 0;     // PY_VERSION_HEX, 0 when the table is missing
  std::string problem;          // why frames cannot be read, when they cannot
};

// `table` is the raw start of the .PyRuntime section. The table's layout
// differs between minor versions; this reads CPython 3.15's.
DebugOffsets parse_debug_offsets(std::span<const uint8_t> table);

}  // namespace pytrace
