// SPDX-License-Identifier: MIT
// Call-type rules, in the seed's order where the seed had one.
#pragma once

#include <string_view>

#include "core/frames.h"
#include "core/source_cache.h"
#include "core/trace_model.h"

namespace pytrace {

// __x__ names other than __init__ and __call__: hidden by default.
bool is_hidden_dunder(std::string_view name);
// Frames of comprehensions and generator expressions: hidden by default.
bool is_comprehension(std::string_view name);
// A class body: code that is neither a function (CO_OPTIMIZED) nor a module.
bool is_class_body(const CodeInfo& code);

struct CallFacts {
  const CodeInfo& code;
  bool is_external = false;
  std::string_view caller_file;  // empty when there is no Python caller
  bool is_main_module = false;   // the traced script's own module body
};

CallType classify_call(const CallFacts& facts, SourceCache& sources);

// The seed's context of an executed line (--track-executed-lines): comment,
// definition, import, control, module_runtime, function_runtime or
// class_body, from the code it runs in and its source text.
std::string_view line_context(const CodeInfo& code, std::string_view source);

// Whether number_of_calls is counted for this type (the seed's list, plus
// the method types the seed would have called function_call).
bool counts_calls(CallType type);

}  // namespace pytrace
