// SPDX-License-Identifier: MIT
#include "core/trace_model.h"

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

size_t TraceModel::total_entries() const {
  size_t total = 0;
  for (const auto& thread : threads) total += thread.entries.size();
  return total;
}

uint64_t TraceModel::lost_or_unmatched() const {
  return probe_stats.ringbuf_drops + stack_stats.lost_records + stack_stats.unknown_code +
         stack_stats.unmatched_returns + stack_stats.closed_without_return + malformed_records;
}

}  // namespace pytrace
