#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Serves the interactive viewer for a trace document on 127.0.0.1.
#
# usage: scripts/serve_visualization.sh TRACE.json [PORT] [--no-patterns] [--hide-imports] [--host ADDRESS]
#
# PORT defaults to 8080; the flags may come in any order. Runs pytrace_view
# from this checkout's build (scripts/setup.sh builds it) or from PATH;
# PYTRACE_VIEW names another. Ctrl-C stops it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VIEW=${PYTRACE_VIEW:-}
if [ -z "$VIEW" ]; then
  for candidate in "$ROOT/build/viewer/pytrace_view" "$(command -v pytrace_view || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      VIEW=$candidate
      break
    fi
  done
fi
if [ -z "$VIEW" ] || [ ! -x "$VIEW" ]; then
  echo "serve_visualization.sh: pytrace_view is not built; run sudo scripts/setup.sh first" >&2
  exit 1
fi
exec "$VIEW" "$@"
