// SPDX-License-Identifier: MIT
#include "core/trace_model.h"

#include <map>
#include <string_view>
#include <tuple>

#include "core/spill.h"

namespace pytrace {

std::string_view call_type_name(CallType type) {
  switch (type) {
    case CallType::kFunctionCall:
      return "function_call";
    case CallType::kMethod:
      return "method";
    case CallType::kClassMethod:
      return "class_method";
    case CallType::kClassInstantiation:
      return "class_instantiation";
    case CallType::kClassDeclaration:
      return "class_declaration";
    case CallType::kSpecialMethod:
      return "special_method";
    case CallType::kCallableObject:
      return "callable_object";
    case CallType::kLambdaFunction:
      return "lambda_function";
    case CallType::kModuleExecution:
      return "module_execution";
    case CallType::kImport:
      return "import";
    case CallType::kExternalCall:
      return "external_call";
    case CallType::kComprehension:
      return "comprehension";
  }
  return "unknown";
}

void TraceModel::find_patterns(const PatternOptions& options) {
  // Alike: the same function at the same line; an import, of the same module.
  std::map<std::tuple<std::string_view, std::string_view, int>, uint64_t> functions;
  for (auto& thread : threads) {
    // The grouper's input as two columns, read from the entries once: 12
    // bytes a call instead of a CallShape's 16, next to the grouper's own 24
    // (tens of millions of calls).
    std::vector<int32_t> callers;
    std::vector<uint64_t> keys;
    callers.reserve(thread.entries.size());
    keys.reserve(thread.entries.size());
    for (size_t i = 0; i < thread.entries.size(); ++i) {
      const TraceEntry& entry = thread.entries[i];
      // Repeats under one caller; a thread's calls are numbered in 32 bits
      // throughout the grouper (PatternGroup).
      callers.push_back(static_cast<int32_t>(caller_of(thread.entries, i)));
      if (entry.test >= 0) {
        keys.push_back((uint64_t{1} << 63) | static_cast<uint64_t>(entry.test));
      } else {
        auto [it, inserted] = functions.try_emplace(
            {entry.code->filename, entry.code->name, imported_module(entry)}, functions.size());
        keys.push_back((it->second << 32) | static_cast<uint32_t>(entry.line));
      }
      SpillFile::trim_now_and_then(i);
    }
    thread.patterns = pytrace::find_patterns(
        keys.size(), [&callers](size_t i) { return int64_t{callers[i]}; },
        [&keys](size_t i) { return keys[i]; }, options);
  }
  pattern_options = options;
}

size_t TraceModel::total_entries() const {
  size_t total = 0;
  for (const auto& thread : threads) total += thread.entries.size();
  return total;
}

}  // namespace pytrace
