#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs a CPython 3.15 whose USDT function probes fire, with pytest, venv
# and pip (virtualenvs for real projects) and CPython's own test suite.
#
# usage: scripts/provision_python.sh PREFIX [--dev]       (as root)
#   --dev   also the headers to build C extensions against it; the compiler
#           is the system's (Debian 12's gcc builds them): `apt-get install
#           gcc` if it has none
#
# Debian 12 has no python3.15. Debian's own python3.15 (suite sid) is built
# --with-dtrace but needs a newer glibc, so it is unpacked with its runtime
# libraries into PREFIX and its ELF interpreter and RPATH are pointed there
# (see docs/probes.md). The system's apt sources are never changed: the
# packages are fetched with a private apt configuration. Versions are
# whatever sid has today. Idempotent: a working PREFIX is left alone.
set -euo pipefail

PREFIX=${1:?usage: provision_python.sh PREFIX [--dev]}
DEV=0
[ "${2:-}" = --dev ] && DEV=1
PYTHON="$PREFIX/usr/bin/python3.15"
MARKER="$PREFIX/.pytrace-provisioned"

PACKAGES=(
  python3.15-minimal libpython3.15-minimal libpython3.15-stdlib
  # what the interpreter and its extension modules link
  libc6 zlib1g libexpat1 libzstd1 libgcc-s1 libffi8 libssl3t64 libsqlite3-0
  liblzma5 libbz2-1.0 libncursesw6 libtinfo6 libreadline8t64 libuuid1
  # pytest, for trace_pytest
  python3-pytest python3-pluggy python3-iniconfig python3-packaging python3-pygments
  # virtualenvs with pip: ensurepip and the wheels it installs
  python3.15-venv python3-pip-whl python3-setuptools-whl
  # CPython's own tests: real suites to trace (tests/e2e)
  libpython3.15-testsuite
)
[ "$DEV" = 1 ] && PACKAGES+=(python3.15-dev libpython3.15-dev libpython3.15 libexpat1-dev zlib1g-dev)

works() {
  [ -f "$MARKER" ] && [ -x "$PYTHON" ] &&
    "$PYTHON" -c 'import ssl, sqlite3, lzma, bz2, ctypes, json, pytest, test.test_json, ensurepip' 2>/dev/null &&
    { [ "$DEV" = 0 ] || { [ -f "$PREFIX/usr/include/python3.15/pyconfig.h" ] &&
      ! grep -q '#  include <' "$PREFIX/usr/include/python3.15/pyconfig.h"; }; } &&
    readelf -n "$PYTHON" 2>/dev/null | grep -q 'Name: function__entry'
}

if works; then
  echo "python3.15 is ready in $PREFIX ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])'))"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs"
# sid, from the archive this machine's apt sources name (never a fixed host).
private_apt=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/private_apt.sh
sid_apt() { "$private_apt" "$work/apt" sid "$@"; }

echo "fetching Debian sid's python3.15 and its runtime libraries"
sid_apt apt-get update >/dev/null
(cd "$work/debs" && sid_apt apt-get download "${PACKAGES[@]}" >/dev/null)

staging="$PREFIX.partial"
rm -rf "$staging"
mkdir -p "$staging"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$staging"
done

# --force-rpath writes DT_RPATH, which (unlike DT_RUNPATH) also applies to
# the libraries of extension modules loaded later: _ssl must find this
# prefix's libcrypto, not the system's older one.
patchelf --set-interpreter "$PREFIX/usr/lib64/ld-linux-x86-64.so.2" \
  --force-rpath --set-rpath "$PREFIX/usr/lib/x86_64-linux-gnu" \
  "$staging/usr/bin/python3.15"

# ensurepip looks for its wheels where Debian puts them, /usr/share/python-wheels,
# which here holds Debian 12's older ones for its own Python; point it at
# this prefix's instead.
ensurepip="$staging/usr/lib/python3.15/ensurepip/__init__.py"
grep -q "^_pkg_dir = sysconfig.get_config_var('WHEEL_PKG_DIR')$" "$ensurepip" || {
  echo "provision_python.sh: $ensurepip does not look up its wheels as expected" >&2
  exit 1
}
sed -i "s|^_pkg_dir = sysconfig.get_config_var('WHEEL_PKG_DIR')$|_pkg_dir = os.path.join(sys.base_prefix, 'share', 'python-wheels')  # pytrace: this prefix's|" "$ensurepip"

# Debian's Python.h reaches the architecture's pyconfig.h through the system
# include path (<x86_64-linux-gnu/python3.15/pyconfig.h>), which is not this
# prefix: put that file in the wrapper's place.
if [ "$DEV" = 1 ]; then
  cp "$staging"/usr/include/x86_64-linux-gnu/python3.15/pyconfig.h "$staging/usr/include/python3.15/pyconfig.h"
fi

rm -rf "$PREFIX"
mv "$staging" "$PREFIX"
if ! "$PYTHON" -c 'import ssl, sqlite3, lzma, bz2, ctypes, json, pytest, ensurepip'; then
  echo "provision_python.sh: the unpacked interpreter does not work" >&2
  exit 1
fi
if ! readelf -n "$PYTHON" | grep -q 'Name: function__entry'; then
  echo "provision_python.sh: $PYTHON has no function probes" >&2
  exit 1
fi
"$PYTHON" -c 'import sys, pytest; print("python", sys.version.split()[0], "pytest", pytest.__version__)' > "$MARKER"
echo "python3.15 installed in $PREFIX: $(cat "$MARKER")"
