// SPDX-License-Identifier: MIT
// The seed's parent_call: the source text of the line that made a call.
#pragma once

#include <string>

#include "core/frames.h"
#include "core/source_cache.h"

namespace pytrace {

// The stripped source of the call site's line. A statement spread over
// several lines is joined with single spaces up to the line where its
// brackets balance (so a class header stops at its colon), and the result
// is cut to 150 characters. Frozen and generated code get the seed's
// placeholders.
std::string call_source_text(const CallSite& site, SourceCache& sources);

}  // namespace pytrace
