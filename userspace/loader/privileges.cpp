// SPDX-License-Identifier: MIT
#include "loader/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

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

ActingAs::ActingAs(const std::optional<RunAs>& user) {
  if (!user || geteuid() != 0) return;
  int count = getgroups(0, nullptr);
  root_groups_.resize(count > 0 ? count : 0);
  if (count > 0 && getgroups(count, root_groups_.data()) < 0) root_groups_.clear();
  std::vector<gid_t> groups = groups_of(*user);
  // Groups first, then the group, then the user: each step needs root.
  if (setgroups(groups.size(), groups.data()) != 0 || setegid(user->gid) != 0 || seteuid(user->uid) != 0) {
    int error = errno;
    seteuid(0);
    setegid(0);
    setgroups(root_groups_.size(), root_groups_.data());
    throw Error(std::string("cannot take the identity of uid ") + std::to_string(user->uid) + ": " +
                std::strerror(error));
  }
  acting_ = true;
}

ActingAs::~ActingAs() {
  if (!acting_) return;
  // Root again: the saved id allows it. Failing here would leave the tool
  // less privileged, never more.
  if (seteuid(0) == 0) {
    setegid(0);
    setgroups(root_groups_.size(), root_groups_.data());
  }
}

std::optional<RunAs> invoking_user() {
  if (geteuid() != 0) return std::nullopt;
  auto uid = env_number("SUDO_UID");
  auto gid = env_number("SUDO_GID");
  if (!uid || !gid || *uid == 0) return std::nullopt;
  return RunAs{static_cast<uid_t>(*uid), static_cast<gid_t>(*gid)};
}

}  // namespace pytrace
