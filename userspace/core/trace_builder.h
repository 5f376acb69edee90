// SPDX-License-Identifier: MIT
// The whole pure pipeline behind one object:
// bytes -> decoder -> per-thread call stacks -> filters -> trace model.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "core/call_filter.h"
#include "core/call_stacks.h"
#include "core/records.h"
#include "core/scope.h"
#include "core/source_cache.h"
#include "core/trace_model.h"

namespace pytrace {

class TraceBuilder {
 public:
  TraceBuilder(const Scope& scope, FilterOptions options, SourceCache& sources);

  // One ring-buffer record; malformed ones are counted and skipped.
  void add_bytes(std::span<const std::byte> bytes);
  void add(const Record& record);

  // Closes what is still open and hands over the model. Call once.
  std::unique_ptr<TraceModel> finish();

 private:
  std::unique_ptr<TraceModel> model_;
  CallFilter filter_;
  CallStackBuilder stacks_;
};

}  // namespace pytrace
