#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kernel matrix's checks, on the kernel this runs on: one of Debian's,
# booted by boot_kernel.sh, or this machine's own.
#
#   1. the BPF programs load (with the verifier's stack depths) and attach;
#   2. each corpus program, traced, has the oracle's call trees (e2e/run_e2e.py);
#   3. child processes are followed: a subprocess, multiprocessing with fork
#      and spawn (e2e/cli_checks.py child_processes_are_traced);
#   4. a running process is attached to by pid, traced and left running
#      (e2e/cli_checks.py attach_and_detach).
#
# usage: kernel_checks.sh TRACE_PROGRAM TRACE_PYTEST PYTHON [CASE...]
#   CASE: the corpus programs to trace (default: all of them); with cases
#   given, checks 3 and 4 are left out.
# Exit codes: 0 all passed, 1 a check failed, 77 skipped (not root).
set -uo pipefail

[[ $# -ge 3 ]] || { sed -n '3,/^set -uo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
tracer=$1 pytest_tracer=$2 python=$3
shift 3
e2e=$(cd "$(dirname "$0")/../e2e" && pwd)
if ((EUID != 0)); then
  echo "SKIP: the kernel checks load BPF programs and need root"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_checks.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
# check NAME COMMAND...: runs it, says ok or FAIL with its output.
check() {
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    echo "ok    $name"
  else
    echo "FAIL  $name"
    sed 's/^/      /' "$work/out"
    failed=1
  fi
}

echo "kernel $(uname -r), preemption: $(cat /sys/kernel/debug/sched/preempt 2>/dev/null || echo unknown)"

# 1. The verifier's figures are part of the report: the stack a program
# needs is what older kernels refuse first.
cat >"$work/hello.py" <<'EOF'
def greet(name):
    return "hello " + name

print(greet("kernel"))
EOF
if "$tracer" -v --python "$python" -o "$work/hello.json" "$work/hello.py" >"$work/out" 2>&1 &&
   grep -q '"name":"greet"' "$work/hello.json"; then
  echo "ok    the BPF programs load and trace"
  grep -E "^libbpf: prog '[a-z_]+': -- BEGIN|^stack depth" "$work/out" |
    sed -E "N;s/libbpf: prog '([a-z_]+)'.*\nstack depth /      \1: stack /"
else
  echo "FAIL  the BPF programs load and trace"
  grep -v '^libbpf: \(map\|sec\|elf\|prog .*found\|CO-RE\|usdt\)' "$work/out" | tail -n 30 | sed 's/^/      /'
  failed=1
fi

# 2. The corpus, compared with the oracle.
cases=("$@")
if ((${#cases[@]} == 0)); then
  for dir in "$e2e"/corpus/*/; do cases+=("$(basename "$dir")"); done
fi
for case in "${cases[@]}"; do
  check "corpus: $case" python3 "$e2e/run_e2e.py" --tracer "$tracer" --python "$python" --case "$case" \
    --workdir "$work/e2e"
done

# 3 and 4.
if (($# == 0)); then
  for name in child_processes_are_traced attach_and_detach; do
    check "$name" python3 "$e2e/cli_checks.py" --tracer "$tracer" --pytest-tracer "$pytest_tracer" \
      --python "$python" "$name"
  done
fi
exit "$failed"
