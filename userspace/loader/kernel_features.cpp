// SPDX-License-Identifier: MIT
#include "loader/kernel_features.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

namespace pytrace {
namespace {

// libbpf's probes answer 1 (yes), 0 (no) or a negative error: an error is a no.
bool probe_says_yes(int answer) {
  return answer == 1;
}

bool btf_has(const btf* vmlinux, const char* name, int kind) {
  return vmlinux && btf__find_by_name_kind(vmlinux, name, kind) > 0;
}

}  // namespace

std::vector<const KernelFeature*> KernelFeatures::missing(bool required) const {
  std::vector<const KernelFeature*> found;
  for (const KernelFeature& f : features)
    if (f.required == required && !f.present) found.push_back(&f);
  return found;
}

KernelFeatures probe_kernel_features() {
  KernelFeatures k;
  utsname name{};
  if (uname(&name) == 0) k.release = name.release;

  // The probes below print nothing useful when they fail: silence libbpf.
  libbpf_print_fn_t previous = libbpf_set_print(nullptr);
  btf* vmlinux = btf__load_vmlinux_btf();
  bool has_btf = vmlinux != nullptr;
  bool uprobes = access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
  bool ring_buffer = probe_says_yes(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr));
  bool task_storage =
      has_btf && probe_says_yes(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nullptr)) &&
      probe_says_yes(libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_task_storage_get, nullptr));
  bool loop = probe_says_yes(libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, nullptr));
  k.btf_tracepoints = btf_has(vmlinux, "btf_trace_sched_process_fork", BTF_KIND_TYPEDEF) &&
                      btf_has(vmlinux, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
  btf__free(vmlinux);
  libbpf_set_print(previous);

  k.features = {
      {"kernel type information (BTF, /sys/kernel/btf/vmlinux)", "5.4 with CONFIG_DEBUG_INFO_BTF",
       "per-thread state kept with the kernel's task", has_btf, true},
      {"uprobes (/sys/bus/event_source/devices/uprobe)", "3.5 with CONFIG_UPROBE_EVENTS",
       "the USDT probes, which are uprobes", uprobes, true},
      {"the BPF ring buffer", "5.8", "sending records to the tool", ring_buffer, true},
      {"BPF task storage in tracing programs", "5.11", "per-thread state", task_storage, true},
      {"the bpf_loop helper", "5.17", "walking frames and arguments", loop, true},
      {"BTF tracepoints sched_process_fork/exit", "5.5 with BTF",
       "child processes are not traced, and threads that end while traced keep no name", k.btf_tracepoints,
       false},
  };
  return k;
}

}  // namespace pytrace
