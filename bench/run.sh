#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tracing benchmark: prints the table described in run_bench.py.
# usage: sudo bench/run.sh [--rounds N] [--big] [--only recursion,objects,...]
exec python3 "$(dirname "${BASH_SOURCE[0]}")/run_bench.py" "$@"
