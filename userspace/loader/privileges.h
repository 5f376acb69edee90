// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>

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

}  // namespace pytrace
