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

// Where PEP 768's remote-execution request goes (Python/remote_debug.h):
// a script path and a flag in a thread state, and a bit of its eval breaker.
struct RemoteExecOffsets {
  uint64_t tstate_interp = 0;        // PyThreadState.interp
  uint64_t interp_remote_debug = 0;  // PyInterpreterState.config.remote_debug (an int)
  uint64_t eval_breaker = 0;         // PyThreadState.eval_breaker
  uint64_t support = 0;              // PyThreadState.remote_debugger_support
  uint64_t pending_call = 0;         // in it: debugger_pending_call (an int32)
  uint64_t script_path = 0;          // in it: debugger_script_path
  uint64_t script_path_size = 0;     // its size, with the NUL; 0 when there is no interface
};

struct DebugOffsets {
  pt_python_offsets offsets{};  // offsets.enabled == 0 when unusable
  uint64_t version_hex = 0;     // PY_VERSION_HEX, 0 when the table is missing
  RemoteExecOffsets remote_exec;
  std::string problem;  // why frames cannot be read, when they cannot
};

// `table` is the raw start of the .PyRuntime section. The table's layout
// differs between minor versions; this reads CPython 3.15's.
DebugOffsets parse_debug_offsets(std::span<const uint8_t> table);

}  // namespace pytrace
