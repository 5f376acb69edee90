// SPDX-License-Identifier: MIT
// Reads CPython's location table (co_linetable, format of CPython 3.11+,
// described in CPython's Objects/locations.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace pytrace {

struct SourceSpan {
  int line = 0;      // first line of the instruction's source range
  int end_line = 0;  // last line of that range
};

// Source lines of the instruction at `instr` (in 2-byte code units) of a
// code object whose co_firstlineno is `first_lineno`. Empty when the
// instruction has no location or lies past the end of the (possibly cut)
// table.
std::optional<SourceSpan> line_for_instruction(std::span<const uint8_t> linetable, int first_lineno,
                                               uint32_t instr);

}  // namespace pytrace
