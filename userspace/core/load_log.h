// SPDX-License-Identifier: MIT
// Reading what libbpf printed while loading the BPF programs, for the one
// message that explains a refused load.
#pragma once

#include <string>
#include <string_view>

namespace pytrace {

struct LoadFailure {
  std::string program;  // the program the kernel refused; empty if none was named
  std::string reason;   // the verifier's last word on it; empty if it gave none
};

// Finds the first program libbpf reports as refused and the verifier's
// reason in that program's load log.
LoadFailure find_load_failure(std::string_view libbpf_output);

}  // namespace pytrace
