// SPDX-License-Identifier: MIT
#include "core/trace_builder.h"

#include <utility>

#include "core/decoder.h"

namespace pytrace {

TraceBuilder::TraceBuilder(const Scope& scope, FilterOptions options, SourceCache& sources)
    : model_(std::make_unique<TraceModel>()),
      line_script_(options.line_script),
      verdicts_(scope, options.line_script),
      filter_(scope, std::move(options), *model_, sources),
      stacks_(model_->codes, filter_) {}

void TraceBuilder::filter_by_scope(CallStackBuilder::VerdictSink sink) {
  stacks_.filter_by_scope(&verdicts_, std::move(sink));
  model_->scope_filter = true;
}

void TraceBuilder::add_bytes(std::span<const std::byte> bytes) {
  DecodeResult result = decode_record(bytes);
  if (!result.record) {
    ++model_->malformed_records;
    return;
  }
  add(*result.record);
}

void TraceBuilder::add(const Record& record) {
  const RecordHeader& header = header_of(record);
  if (const auto* exit = std::get_if<ThreadExitRecord>(&record)) {
    live_threads_.erase(header.tid);
    if (exit->process_ended) mark_ended(header.pid);
    ThreadExitRecord named = *exit;
    named.name = names_.full_name(header.pid, header.tid, exit->name);
    names_.forget(header.pid, header.tid);
    stacks_.add(named);
    return;
  }
  live_threads_[header.tid] = header.pid;
  if (const auto* process = std::get_if<ProcessRecord>(&record)) {
    model_->processes.push_back({process->child_pid, process->header.pid, false});
    names_.fork(process->header, process->child_pid);
  }
  stacks_.add(record);
  const auto* frame = std::get_if<FrameRecord>(&record);
  if (frame && !frame->is_return) {
    if (const CodeInfo* code = model_->codes.find(frame->code); code && code->filename != line_script_)
      names_.add(*frame, *code);  // the tool's line script is not the program
  }
}

void TraceBuilder::set_root_process(uint32_t pid) {
  model_->processes.insert(model_->processes.begin(), {pid, 0, false});
}

std::vector<uint32_t> TraceBuilder::running_processes() const {
  std::vector<uint32_t> running;
  for (const auto& process : model_->processes)
    if (!process.ended) running.push_back(process.pid);
  return running;
}

// The latest process with this pid: an earlier one that had it ended first.
void TraceBuilder::mark_ended(uint32_t pid) {
  for (auto it = model_->processes.rbegin(); it != model_->processes.rend(); ++it) {
    if (it->pid == pid && !it->ended) {
      it->ended = true;
      return;
    }
  }
}

std::unique_ptr<TraceModel> TraceBuilder::finish() {
  stacks_.finish();
  model_->stack_stats = stacks_.stats();
  model_->argument_texts = stacks_.take_argument_texts();
  for (auto& thread : model_->threads) {
    auto live = live_threads_.find(thread.tid);
    if (!thread.name.empty() || live == live_threads_.end() || live->second != thread.pid) continue;
    if (auto name = live_names_.find(thread.tid); name != live_names_.end())
      thread.name = names_.full_name(thread.pid, thread.tid, name->second);
  }
  return std::move(model_);
}

}  // namespace pytrace
