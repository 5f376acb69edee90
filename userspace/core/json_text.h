// SPDX-License-Identifier: MIT
// Writing JSON text directly: the trace has one object per call, and
// building a DOM for each costs more than tracing the call did.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pytrace {

// Appends `text` as a JSON string literal. Bytes that are not valid UTF-8
// (probe strings can be cut inside a sequence) become U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace pytrace
