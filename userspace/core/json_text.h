// SPDX-License-Identifier: MIT
// Writing JSON text directly: the trace has one object per call, and
// building a DOM for each costs more than tracing the call did.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pytrace {

// Appends `text` as a JSON string literal. Bytes that are not valid UTF-8
// (probe strings can be cut inside a sequence, paths need not be UTF-8)
// become U+FFFD.
void append_json_string(std::string& out, std::string_view text);

// Length of the valid UTF-8 sequence at text[i] (shortest form, no
// surrogates, nothing past U+10FFFF), 1 for ASCII, 0 when it is not one.
size_t utf8_sequence(std::string_view text, size_t i);
bool is_utf8(std::string_view text);

// Appends code point `c` (at most U+10FFFF) encoded as UTF-8; callers
// replace surrogates first, which UTF-8 cannot hold.
void append_utf8(std::string& out, uint32_t c);

// Nesting depth of a JSON text: its deepest { or [ outside strings. Cheap
// to know before parsing text from outside, whose parsers recurse per level.
size_t json_depth(std::string_view text);

// Standard base64, with padding.
std::string base64(std::string_view bytes);

}  // namespace pytrace
