// SPDX-License-Identifier: MIT
#include "core/scope_verdicts.h"

#include "core/thread_names.h"

extern "C" {
#include "pytrace.h"
}

namespace pytrace {

static_assert(static_cast<int>(ScopeVerdict::kUnknown) == PT_SCOPE_UNKNOWN);
static_assert(static_cast<int>(ScopeVerdict::kOut) == PT_SCOPE_OUT);
static_assert(static_cast<int>(ScopeVerdict::kSend) == PT_SCOPE_SEND);

ScopeVerdict ScopeVerdicts::verdict(const CodeInfo& code) const {
  if (scope_.contains(code.filename)) return ScopeVerdict::kSend;
  // Thread names come from threading's own calls (core/thread_names.h).
  if (code.filename == line_script_ || is_threading_module(code)) return ScopeVerdict::kSend;
  return ScopeVerdict::kOut;
}

}  // namespace pytrace
