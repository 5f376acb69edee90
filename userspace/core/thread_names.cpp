// SPDX-License-Identifier: MIT
#include "core/thread_names.h"

#include <cctype>

#include "core/json_text.h"

namespace pytrace {
namespace {

// The value passed as parameter `name`, if the call's values include it.
const ArgValue* argument(const FrameRecord& frame, const CodeInfo& code, std::string_view name) {
  for (size_t i = 0; i < code.params.names.size() && i < frame.args.size(); ++i)
    if (code.params.names[i] == name) return &frame.args[i];
  return nullptr;
}

// The address of the object a method was called on, 0 if not read.
uint64_t self_object(const FrameRecord& frame, const CodeInfo& code) {
  const ArgValue* self = argument(frame, code, "self");
  return self && self->kind == ArgKind::kObject ? self->value : 0;
}

// The length of "Thread-12 (" at the start of a kernel name, CPython's
// default name for a thread with a target ("Thread-%d (%s)"), or 0.
size_t default_name_prefix(const std::string& name) {
  constexpr std::string_view kThread = "Thread-";
  if (!name.starts_with(kThread)) return 0;
  size_t i = kThread.size();
  size_t digits = i;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (i == digits || name.compare(i, 2, " (") != 0) return 0;
  return i + 2;
}

}  // namespace

void ThreadNames::add(const FrameRecord& frame, const CodeInfo& code) {
  ThreadKey thread{frame.header.pid, frame.header.tid};
  if (frame.is_return) return;
  // Most calls are none of threading's: a thread waiting for its target is
  // looked up only while there is one.
  const bool threading = is_threading_module(code);
  auto running = running_.end();
  if (waiting_for_target_ || threading) running = running_.find(thread);
  if (running != running_.end() && running->second.run_frame &&
      frame.caller_frame == running->second.run_frame) {
    // Thread.run's first call of its own is the target, unless run is
    // resuming a generator that unpacks the target's arguments.
    bool resumed_generator = code.flags.generator && frame.note != FrameNote::kGeneratorCreation;
    if (!resumed_generator) {
      running->second.target = code.name;
      running->second.run_frame = 0;
      --waiting_for_target_;
    }
    return;
  }
  if (!threading) return;  // what follows are threading's own calls

  if (code.qualname == "Thread._bootstrap_inner") {
    if (running != running_.end() && running->second.run_frame) --waiting_for_target_;
    running_[thread] = {self_object(frame, code), 0, {}};
  } else if (code.qualname == "Thread.run") {
    if (running != running_.end() && running->second.target.empty() && !running->second.run_frame) {
      running->second.run_frame = frame.frame;
      ++waiting_for_target_;
    }
  } else if (code.qualname == "Thread.__init__" ||
             (code.qualname == "Thread.name" && code.params.count == 2)) {
    uint64_t self = self_object(frame, code);
    if (!self) return;
    // CPython: a false name means the default one; the setter keeps
    // str(name). Only a str read whole is used; else the kernel's name.
    const ArgValue* name = argument(frame, code, "name");
    if (name && is_whole_str(*name) && name->size > 0)
      given_[{frame.header.pid, self}] = str_text(*name);
    else
      given_.erase({frame.header.pid, self});
  }
}

void ThreadNames::fork(const RecordHeader& forking, uint32_t child) {
  for (auto it = given_.lower_bound({forking.pid, 0}); it != given_.end() && it->first.first == forking.pid;
       ++it)
    given_[{child, it->first.second}] = it->second;
  // The forking thread goes on as the child's only thread, whose tid is its pid.
  if (auto running = running_.find({forking.pid, forking.tid}); running != running_.end()) {
    Running& copy = running_[{child, child}];
    if (copy.run_frame) --waiting_for_target_;
    copy = running->second;
    if (copy.run_frame) ++waiting_for_target_;
  }
}

std::string ThreadNames::full_name(uint32_t pid, uint32_t tid, const std::string& kernel_name) const {
  constexpr size_t kKernelNameMax = 15;  // TASK_COMM_LEN less its NUL
  constexpr size_t kTargetBytesShown = 3;
  if (auto running = running_.find({pid, tid}); running != running_.end()) {
    auto given = given_.find({pid, running->second.object});
    if (running->second.object && given != given_.end()) return given->second;
    size_t prefix = default_name_prefix(kernel_name);
    const std::string& target = running->second.target;
    if (prefix && kernel_name.size() == kKernelNameMax && prefix + kTargetBytesShown <= kKernelNameMax &&
        !target.empty()) {
      std::string name = kernel_name.substr(0, prefix) + target + ")";
      if (name.starts_with(kernel_name)) return name;
    }
  }
  // The kernel cuts bytes, not characters: drop a character cut in two.
  std::string whole = kernel_name;
  for (int i = 0; i < 3 && !whole.empty() && !is_utf8(whole); ++i) whole.pop_back();
  return is_utf8(whole) ? whole : kernel_name;
}

void ThreadNames::forget(uint32_t pid, uint32_t tid) {
  auto running = running_.find({pid, tid});
  if (running == running_.end()) return;
  if (running->second.run_frame) --waiting_for_target_;
  given_.erase({pid, running->second.object});
  running_.erase(running);
}

}  // namespace pytrace
