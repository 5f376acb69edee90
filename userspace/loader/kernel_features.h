// SPDX-License-Identifier: MIT
// What the running kernel offers the BPF programs, found out before they are
// loaded, so that a missing feature is named (with what it disables) instead
// of surfacing as a verifier or load error.
#pragma once

#include <string>
#include <vector>

namespace pytrace {

struct KernelFeature {
  std::string name;        // what is checked, e.g. "BPF ring buffer"
  std::string since;       // the first Linux release that has it, e.g. "5.8"
  std::string needed_for;  // required: what it is for; optional: what goes without it
  bool present = false;
  bool required = false;  // without it nothing can be traced
};

struct KernelFeatures {
  std::string release;  // uname -r
  std::vector<KernelFeature> features;

  // BTF tracepoints sched_process_fork/exit: following child processes,
  // naming threads when they end.
  bool btf_tracepoints = false;

  // The missing features that are required (or, with false, optional).
  std::vector<const KernelFeature*> missing(bool required) const;
};

// Probes the running kernel. Needs the privileges that loading the programs
// needs (test programs and maps are created and freed).
KernelFeatures probe_kernel_features();

}  // namespace pytrace
