#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints the URI of the main Debian archive this machine's apt sources name
# (PYTRACE_DEBIAN_MIRROR overrides it), for fetching packages with a
# private apt configuration. No host name is written into the project.
set -euo pipefail
if [[ -n ${PYTRACE_DEBIAN_MIRROR:-} ]]; then
  echo "${PYTRACE_DEBIAN_MIRROR%/}/"
  exit 0
fi
uri=$(apt-get indextargets --format '$(LABEL)|$(IDENTIFIER)|$(REPO_URI)' 2>/dev/null |
  awk -F'|' '$1 == "Debian" && $2 == "Packages" { print $3; exit }')
if [[ -z $uri ]]; then
  echo "debian_archive.sh: no Debian archive in this machine's apt sources (run apt-get update, or set PYTRACE_DEBIAN_MIRROR)" >&2
  exit 1
fi
echo "$uri"
