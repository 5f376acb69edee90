// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "loader/child_process.h"

namespace pytrace {

// Throws Error, naming what is missing, unless this process may load BPF
// programs and attach uprobes (root, or CAP_BPF with CAP_PERFMON, or
// CAP_SYS_ADMIN).
void require_bpf_privileges(const std::string& tool);

// The user who ran the tool through sudo (SUDO_UID/SUDO_GID), when running
// as root on their behalf: the traced program runs as them and output files
// are given to them.
std::optional<RunAs> invoking_user();

// While it lives, this process acts as `user` (when given): its effective
// ids and groups are the user's, so files are looked at, opened, read and
// written with the user's permissions, disk space and quotas, and no
// capability is in effect. The real and saved ids stay root's: the user's
// processes (the traced program) cannot signal it, and the destructor goes
// back to root. Names the traced program chooses (source files, the
// interpreter it reports) are only ever opened this way.
class ActingAs {
 public:
  explicit ActingAs(const std::optional<RunAs>& user);
  ~ActingAs();
  ActingAs(const ActingAs&) = delete;
  ActingAs& operator=(const ActingAs&) = delete;

 private:
  bool acting_ = false;
  std::vector<gid_t> root_groups_;
};

}  // namespace pytrace
