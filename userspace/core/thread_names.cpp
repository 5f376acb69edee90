// SPDX-License-Identifier: MIT
#include "core/thread_names.h"

#include <cctype>

namespace pytrace {
namespace {

bool is_threading_code(const CodeInfo& code, std::string_view qualname) {
  constexpr std::string_view kFile = "/threading.py";
  return code.qualname == qualname && code.filename.ends_with(kFile);
}

// The value passed as parameter `name`, if the call's values include it.
const ArgValue* argument(const FrameRecord& frame, const CodeInfo& code, std::string_view name) {
  for (size_t i = 0; i < code.params.names.size() && i < frame.args.size(); ++i)
    if (code.params.names[i] == name) return &frame.args[i];
  return nullptr;
}

// The address of the Thread object a method was called on.
const ArgValue* self_object(const FrameRecord& frame, const CodeInfo& code) {
  const ArgValue* self = argument(frame, code, "self");
  return self && self->kind == ArgKind::kObject ? self : nullptr;
}

// "Thread-12 (" at the start of a kernel name: CPython's default name for a
// thread with a target, "Thread-%d (%s)" % (counter, target.__name__).
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
  if (auto waiting = awaiting_target_.find(thread); waiting != awaiting_target_.end()) {
    awaiting_target_.erase(waiting);
    if (!frame.is_return) targets_[thread] = code.name;
  }
  if (frame.is_return || frame.args.empty()) return;

  const ArgValue* self = self_object(frame, code);
  if (!self) return;
  ObjectKey object{frame.header.pid, self->value};
  bool constructor = is_threading_code(code, "Thread.__init__");
  if (constructor || (is_threading_code(code, "Thread.name") && code.params.count == 2)) {
    const ArgValue* name = argument(frame, code, "name");
    if (name && name->kind == ArgKind::kStr)
      given_[object] = str_text(*name);
    else if (constructor)
      given_.erase(object);  // a default name; the address may have held another Thread
  } else if (is_threading_code(code, "Thread._bootstrap_inner")) {
    runs_[thread] = self->value;
  } else if (is_threading_code(code, "Thread.run")) {
    awaiting_target_.insert(thread);
  }
}

std::string ThreadNames::full_name(uint32_t pid, uint32_t tid, const std::string& kernel_name) const {
  ThreadKey thread{pid, tid};
  if (auto object = runs_.find(thread); object != runs_.end())
    if (auto given = given_.find({pid, object->second}); given != given_.end()) return given->second;

  constexpr size_t kKernelNameMax = 15;  // TASK_COMM_LEN less its NUL
  size_t prefix = default_name_prefix(kernel_name);
  auto target = targets_.find(thread);
  if (prefix && kernel_name.size() == kKernelNameMax && target != targets_.end()) {
    std::string name = kernel_name.substr(0, prefix) + target->second + ")";
    if (name.starts_with(kernel_name)) return name;
  }
  return kernel_name;
}

void ThreadNames::forget(uint32_t pid, uint32_t tid) {
  ThreadKey thread{pid, tid};
  runs_.erase(thread);
  targets_.erase(thread);
  awaiting_target_.erase(thread);
}

}  // namespace pytrace
