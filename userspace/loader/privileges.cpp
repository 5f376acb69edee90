// SPDX-License-Identifier: MIT
#include "loader/privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "core/error.h"

namespace pytrace {
namespace {

bool has_capability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[cap / 32].effective & (1U << (cap % 32));
}

std::optional<unsigned long> env_number(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  char* end;
  unsigned long number = std::strtoul(value, &end, 10);
  if (*end) return std::nullopt;
  return number;
}

}  // namespace

void require_bpf_privileges(const std::string& tool) {
  if (geteuid() == 0 || has_capability(CAP_SYS_ADMIN) ||
      (has_capability(CAP_BPF) && has_capability(CAP_PERFMON))) {
    return;
  }
  throw Error(
      "needs root: loading eBPF programs and attaching uprobes takes CAP_BPF and "
      "CAP_PERFMON (or CAP_SYS_ADMIN), which this process does not have; run it as "
      "`sudo " +
      tool + " ...`");
}

std::optional<RunAs> invoking_user() {
  if (geteuid() != 0) return std::nullopt;
  auto uid = env_number("SUDO_UID");
  auto gid = env_number("SUDO_GID");
  if (!uid || !gid || *uid == 0) return std::nullopt;
  return RunAs{static_cast<uid_t>(*uid), static_cast<gid_t>(*gid)};
}

}  // namespace pytrace
