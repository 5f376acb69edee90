// SPDX-License-Identifier: MIT
#include "core/trace_builder.h"

#include "core/decoder.h"

namespace pytrace {

TraceBuilder::TraceBuilder(const Scope& scope, FilterOptions options, SourceCache& sources)
    : model_(std::make_unique<TraceModel>()),
      filter_(scope, std::move(options), *model_, sources),
      stacks_(model_->codes, filter_) {}

void TraceBuilder::add_bytes(std::span<const std::byte> bytes) {
  DecodeResult result = decode_record(bytes);
  if (!result.record) {
    ++model_->malformed_records;
    return;
  }
  stacks_.add(*result.record);
}

void TraceBuilder::add(const Record& record) {
  stacks_.add(record);
}

std::unique_ptr<TraceModel> TraceBuilder::finish() {
  stacks_.finish();
  model_->stack_stats = stacks_.stats();
  return std::move(model_);
}

}  // namespace pytrace
