#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sets up pytrace on Debian 12 and traces the bundled example.
#
# usage: sudo scripts/setup.sh [--deps-only] [--dev]
#
#   1. installs the Debian packages the build and the tests need (and the
#      browser tests' npm package, playwright-core, in tests/viewer)
#   2. installs a CPython 3.15 whose probes fire, in /opt/pytrace/python3.15
#      (or uses the distribution's own python3.15 where it has one)
#   3. builds pytrace in Release and installs trace_program, trace_pytest, trace_where(_pytest),
#      pytrace_view, serve_visualization.sh and pytrace-python (the
#      interpreter of step 2) in /usr/local/bin
#   4. traces examples/demo.py and prints its call tree
#
# --deps-only stops after step 2. --dev adds the interpreter's headers, for
# projects whose dependencies build C extensions. Every step is idempotent.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON_PREFIX=${PYTRACE_PYTHON_PREFIX:-/opt/pytrace/python3.15}
BUILD_DIR=${PYTRACE_BUILD_DIR:-$ROOT/build}
DEPS_ONLY=0
DEV=()
for arg in "$@"; do
  case "$arg" in
    --deps-only) DEPS_ONLY=1 ;;
    --dev) DEV=(--dev) ;;
    -h|--help) sed -n '3,17p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (sudo scripts/setup.sh): it installs packages and loads BPF programs" >&2
  exit 1
fi

PACKAGES=(
  build-essential cmake pkg-config clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool
  nlohmann-json3-dev libgtest-dev googletest patchelf python3 binutils
  libzstd-dev                                       # compressed traces (-o FILE.zst)
  libcpp-httplib-dev libsimdjson-dev                # the viewer's server
  chromium fonts-noto-color-emoji                   # the viewer's browser tests
  bpftrace                                          # bench/run.sh: the probes' floor
  qemu-system-x86 busybox-static kmod xz-utils zstd file  # the kernel matrix (tests/kernels)
)
# Node.js runs the browser tests; Debian's when the machine has none.
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)
step "Debian packages"
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "all ${#PACKAGES[@]} packages are installed"
fi

step "npm packages of the browser tests"
npm ci --prefix "$ROOT/tests/viewer" --no-audit --no-fund --loglevel=error

step "CPython 3.15 with working probes"
native=$(command -v python3.15 || true)
if [ -n "$native" ] && readelf -n "$(readlink -f "$native")" 2>/dev/null | grep -q 'Name: function__entry'; then
  echo "using the distribution's $native"
  PYTHON=$native
elif apt-cache show python3.15-minimal >/dev/null 2>&1; then
  apt-get install -y -q python3.15 python3-pytest
  PYTHON=$(command -v python3.15)
else
  "$ROOT/scripts/provision_python.sh" "$PYTHON_PREFIX" "${DEV[@]}"
  PYTHON="$PYTHON_PREFIX/usr/bin/python3.15"
fi
echo "$PYTHON" > "$ROOT/.pytrace-python"

[ "$DEPS_ONLY" = 1 ] && exit 0

step "Build (Release) and install"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DPYTRACE_DEFAULT_PYTHON="$PYTHON" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
cmake --install "$BUILD_DIR" --prefix /usr/local >/dev/null
# A short, stable name for the interpreter, to make a project's virtualenv
# with. A script, not a symlink: a venv made through a symlink would look
# for the standard library next to the link.
printf '#!/bin/sh\nexec %q "$@"\n' "$PYTHON" > /usr/local/bin/pytrace-python
chmod 755 /usr/local/bin/pytrace-python
echo "installed $(command -v trace_program || echo /usr/local/bin/trace_program) and pytrace-python ($PYTHON)"

step "Tracing the bundled example: trace_program examples/demo.py"
/usr/local/bin/trace_program "$ROOT/examples/demo.py"
cat <<MSG

Done. Next:
  pytrace-python -m venv .venv && .venv/bin/pip install -r requirements.txt   # your project's virtualenv
  sudo trace_program your_script.py [args...]          # call tree on the terminal (uses ./.venv)
  sudo trace_program your_script.py -o trace.json      # the JSON document (docs/json-format.md)
  scripts/serve_visualization.sh trace.json            # the interactive viewer on http://127.0.0.1:8080/
MSG
