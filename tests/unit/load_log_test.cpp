// SPDX-License-Identifier: MIT
#include "core/load_log.h"

#include <gtest/gtest.h>

namespace pytrace {
namespace {

// What libbpf 1.1 printed on Debian 12's kernel 6.1 for the programs of an
// earlier build (the entry program's frame and callbacks over 512 bytes).
constexpr const char* kStackTooLarge =
    "libbpf: prog 'on_function_entry': BPF program load failed: Permission denied\n"
    "libbpf: prog 'on_function_entry': -- BEGIN PROG LOAD LOG --\n"
    "combined stack size of 2 calls is 640. Too large\n"
    "verification time 20510 usec\n"
    "stack depth 456+8+136+16+144\n"
    "processed 13934 insns (limit 1000000) max_states_per_insn 7 total_states 812 peak_states 798 mark_read "
    "0\n"
    "-- END PROG LOAD LOG --\n"
    "libbpf: prog 'on_function_entry': failed to load: -13\n"
    "libbpf: failed to load object 'pytrace_bpf'\n"
    "libbpf: failed to load BPF skeleton 'pytrace_bpf': -13\n";

TEST(LoadLog, NamesTheRefusedProgramAndTheVerifiersReason) {
  LoadFailure failure = find_load_failure(kStackTooLarge);
  EXPECT_EQ(failure.program, "on_function_entry");
  EXPECT_EQ(failure.reason, "combined stack size of 2 calls is 640. Too large");
}

TEST(LoadLog, TheReasonIsTheLastLineBeforeTheStatistics) {
  LoadFailure failure = find_load_failure(
      "libbpf: prog 'on_fork': BPF program load failed: Invalid argument\n"
      "libbpf: prog 'on_fork': -- BEGIN PROG LOAD LOG --\n"
      "0: R1=ctx() R10=fp0\n"
      "; int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)\n"
      "0: (79) r6 = *(u64 *)(r1 +8)\n"
      "func 'sched_process_fork' arg1 type STRUCT is not a struct\n"
      "\n"
      "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
      "-- END PROG LOAD LOG --\n"
      "libbpf: prog 'on_fork': failed to load: -22\n");
  EXPECT_EQ(failure.program, "on_fork");
  EXPECT_EQ(failure.reason, "func 'sched_process_fork' arg1 type STRUCT is not a struct");
}

TEST(LoadLog, OnlyTheRefusedProgramsLogCounts) {
  // With -v every program's log is printed, the loaded ones' too.
  std::string log = std::string(
                        "libbpf: prog 'on_import_start': -- BEGIN PROG LOAD LOG --\n"
                        "the loaded program's last line\n"
                        "processed 199 insns\n"
                        "-- END PROG LOAD LOG --\n") +
                    kStackTooLarge;
  EXPECT_EQ(find_load_failure(log).reason, "combined stack size of 2 calls is 640. Too large");
}

TEST(LoadLog, NoRefusalNoProgram) {
  LoadFailure failure = find_load_failure("libbpf: failed to find valid kernel BTF\n");
  EXPECT_EQ(failure.program, "");
  EXPECT_EQ(failure.reason, "");
  // A refusal without a log (libbpf could not get one) names the program alone.
  failure = find_load_failure("libbpf: prog 'on_exit': BPF program load failed: Argument list too long\n");
  EXPECT_EQ(failure.program, "on_exit");
  EXPECT_EQ(failure.reason, "");
}

}  // namespace
}  // namespace pytrace
