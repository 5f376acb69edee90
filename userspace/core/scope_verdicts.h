// SPDX-License-Identifier: MIT
// Filtering in the kernel (docs/probes.md): which code objects' calls can
// never reach the output, so that the BPF programs can leave them out.
//
// A call is logged when its code is in the scope, or when its caller's is
// (an external call). So a call of code out of the scope made by code out
// of the scope is never logged, and nothing about it is needed: neither it
// nor its return is sent once the kernel has both verdicts. The call
// stacks drop such calls by the same rule when the kernel sent them before
// it knew, so the trees are the same either way.
#pragma once

#include <string>

#include "core/frames.h"
#include "core/scope.h"

namespace pytrace {

class ScopeVerdicts {
 public:
  // `line_script`: the tool's own script in the program (its frames are read), or "".
  ScopeVerdicts(const Scope& scope, std::string line_script)
      : scope_(scope), line_script_(std::move(line_script)) {}

  // kSend for code in the scope and for code the tool reads calls of
  // whatever calls them (threading's, for thread names; its own script);
  // kOut for the rest.
  ScopeVerdict verdict(const CodeInfo& code) const;

 private:
  const Scope& scope_;
  std::string line_script_;
};

// A call of `callee` made by `caller` (null: no Python caller, or not
// known) that is left out: both out of the scope. Generators are never
// left out, nor what they call: a run of a generator that had no entry
// probe (throw(), close()) is restored from where it last yielded and from
// the first call it makes (docs/probes.md, quirks).
inline bool left_out(const CodeInfo& callee, const CodeInfo* caller) {
  return callee.scope == ScopeVerdict::kOut && !callee.flags.generator && caller &&
         caller->scope == ScopeVerdict::kOut && !caller->flags.generator;
}

}  // namespace pytrace
