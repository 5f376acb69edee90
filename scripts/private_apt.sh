#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs apt-get or apt-cache on a private configuration in ROOT that knows
# only SUITE of the Debian archive this machine's apt sources name
# (scripts/debian_archive.sh): packages of another suite are fetched
# without touching the system's sources, state or cache.
#
# usage: scripts/private_apt.sh ROOT SUITE apt-get|apt-cache ARGS...
#   e.g. private_apt.sh /tmp/apt sid apt-get update
#        private_apt.sh /tmp/apt sid apt-get download python3.15-minimal
set -euo pipefail
root=${1:?usage: private_apt.sh ROOT SUITE apt-get|apt-cache ARGS...}
suite=${2:?usage: private_apt.sh ROOT SUITE apt-get|apt-cache ARGS...}
command=${3:?usage: private_apt.sh ROOT SUITE apt-get|apt-cache ARGS...}
shift 3
[[ $command == apt-get || $command == apt-cache ]] || { echo "private_apt.sh: not apt-get or apt-cache: $command" >&2; exit 2; }

# The sources are written for an update (the archive may have changed since
# the last one) and when there are none; other commands read what it fetched.
if [[ ! -f $root/sources.list || "$command ${1:-}" == "apt-get update" ]]; then
  uri=$("$(dirname "${BASH_SOURCE[0]}")/debian_archive.sh")
  mkdir -p "$root/state/lists/partial" "$root/cache/archives/partial"
  touch "$root/status"
  echo "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" \
    >"$root/sources.list"
fi
exec "$command" -q -o "Dir::Etc::SourceList=$root/sources.list" -o Dir::Etc::SourceParts=/dev/null \
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
  -o "Dir::State=$root/state" -o "Dir::State::status=$root/status" -o "Dir::Cache=$root/cache" \
  -o APT::Sandbox::User=root -o Debug::NoLocking=1 -o APT::Architecture=amd64 -o Acquire::Languages=none \
  -o Acquire::Retries=3 "$@"
