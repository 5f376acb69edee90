// SPDX-License-Identifier: MIT
// The document as the page receives it (GET /api/model): columns of small
// numbers and one table of strings instead of an object per call, so a
// million calls arrive in tens of megabytes and parse in a fraction of a
// second. Each entry's own JSON is fetched on demand (GET /api/entry/ID).
#pragma once

#include <string>

#include "trace_document.h"

namespace pytrace::viewer {

struct ViewSettings {
  std::string trace_path;      // absolute
  bool patterns = true;        // start with pattern groups shown
  bool hide_imports = false;   // start with imports hidden
  std::string suggested_save;  // file name offered for "save filtered data"
};

std::string view_model_json(const TraceDocument& doc, const ViewSettings& settings);

}  // namespace pytrace::viewer
