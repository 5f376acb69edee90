#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test: unit tests, and the end-to-end tests that trace real
# programs through the kernel and compare them with the interpreter's own
# view. Installs what it needs first (scripts/setup.sh --deps-only).
#
# usage: sudo scripts/run_tests.sh [ctest arguments...]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${PYTRACE_TEST_BUILD_DIR:-$ROOT/build-tests}

if [ "$(id -u)" -ne 0 ]; then
  echo "run_tests.sh: run as root (sudo scripts/run_tests.sh): the end-to-end tests load BPF programs" >&2
  exit 1
fi

"$ROOT/scripts/setup.sh" --deps-only
PYTHON=$(cat "$ROOT/.pytrace-python")

printf '\n==> Build with tests\n'
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON -DPYTRACE_WERROR=ON \
  -DPYTRACE_DEFAULT_PYTHON="$PYTHON" -DE2E_PYTHON="$PYTHON" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

printf '\n==> Tests\n'
ctest --test-dir "$BUILD_DIR" --output-on-failure "$@"
