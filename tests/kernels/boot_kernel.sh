#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boots one of Debian's kernels under qemu and runs a command in it, in a
# chroot of this machine's own root (shared read-only over 9p), so that the
# command sees the same files, build and interpreter as the host.
#
# usage: sudo tests/kernels/boot_kernel.sh --kernel SUITE [--append ARGS] [--smp N]
#                                          [--timeout SECONDS] -- COMMAND [ARGS...]
#
#   SUITE      the Debian suite whose linux-image-amd64 is booted: bookworm
#              (Debian 12's own kernel), bookworm-backports, sid (the newest)
#   --append   more kernel command-line arguments, e.g. preempt=full
#
# The kernel packages come from the archive this machine's apt sources name
# (scripts/debian_archive.sh; PYTRACE_DEBIAN_MIRROR overrides it), fetched
# with a private apt configuration (the
# system's apt state is neither read nor changed) and unpacked with dpkg -x
# into PYTRACE_KERNEL_CACHE (default /var/cache/pytrace-kernels), never
# installed. Versions are whatever the suite has today.
#
# In the guest the whole root is read-only, /tmp included (a checkout there
# stays visible); /run is an empty tmpfs and TMPDIR=/run/tmp is where to
# write. COMMAND runs as root in the host's working directory.
# Exit status: COMMAND's; 124 when the run timed out; 125 when the kernel could
# not be fetched or booted (the end of the serial console is shown); 77, a
# skip, when not run as root.
set -euo pipefail

readonly EXIT_TIMEOUT=124 EXIT_INFRA=125
PROG=${0##*/}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit "$EXIT_INFRA"; }
usage() { sed -n '3,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit "$EXIT_INFRA"; }

SUITE="" APPEND="" SMP=2 TIMEOUT=600
CACHE=${PYTRACE_KERNEL_CACHE:-/var/cache/pytrace-kernels}
while (($#)); do
  case $1 in
    --kernel) SUITE=${2:?}; shift 2 ;;
    --append) APPEND=${2?}; shift 2 ;;
    --smp) SMP=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    *) log "unknown argument $1"; usage ;;
  esac
done
[[ $SUITE =~ ^[a-z0-9-]+$ ]] || usage
(($#)) || usage
if ((EUID != 0)); then
  echo "SKIP: booting a kernel needs root: the guest shares this machine's root, and apt unpacks the kernel"
  exit 77
fi
for tool in qemu-system-x86_64 depmod xz zstd; do
  command -v "$tool" >/dev/null || die "$tool is missing (sudo scripts/setup.sh --deps-only installs it)"
done
# Copied into the initramfs, where there are no shared libraries.
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' ||
  die "/bin/busybox is not busybox-static (sudo scripts/setup.sh --deps-only installs it)"

# ---- the kernel: linux-image-amd64 of SUITE, unpacked into the cache


APT_ROOT="$CACHE/apt/$SUITE"
PRIVATE_APT=$(cd "$(dirname "$0")/../../scripts" && pwd)/private_apt.sh
suite_apt() { "$PRIVATE_APT" "$APT_ROOT" "$SUITE" "$@"; }
# One field of a package's candidate in SUITE.
field() { { suite_apt apt-cache --no-all-versions show "$1" 2>/dev/null || true; } | sed -n "s/^$2: //p" | head -n1; }
# The package names of a Depends line.
names() { tr ',|' '\n\n' | sed -E 's/\(.*\)//; s/^ +//; s/ +$//' | grep -v '^$' || true; }

fetch_kernel() {
  mkdir -p "$APT_ROOT"
  suite_apt apt-get update >"$APT_ROOT/update.log" 2>&1 || { cat "$APT_ROOT/update.log" >&2; die "apt-get update of $SUITE failed"; }

  local image version abi
  image=$(field linux-image-amd64 Depends | names | grep -E '^linux-image-[0-9]' | head -n1 || true)
  [[ -n $image ]] || die "$SUITE has no linux-image-amd64"
  version=$(field "$image" Version)
  abi=${image#linux-image-}
  KDIR="$CACHE/${image}_${version//[:~]/_}"
  if [[ ! -f $KDIR/.complete ]]; then
    # The image and the packages of the same ABI it depends on (sid splits a
    # kernel into linux-binary-, linux-modules- and linux-base- packages).
    local queue=("$image") packages=() package dependency
    while ((${#queue[@]})); do
      package=${queue[0]}; queue=("${queue[@]:1}"); packages+=("$package")
      while read -r dependency; do
        if [[ $dependency == *"-$abi" && " ${packages[*]} ${queue[*]} " != *" $dependency "* ]]; then
          queue+=("$dependency")
        fi
      done < <(field "$package" Depends | names)
    done
    log "fetching ${packages[*]} ($version)"
    rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp/debs"
    (cd "$KDIR.tmp/debs" && suite_apt apt-get download "${packages[@]}" >&2) || die "apt-get download failed"
    for deb in "$KDIR.tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$KDIR.tmp"; done
    rm -rf "$KDIR.tmp/debs"
    # Modules are in lib/modules or, merged, usr/lib/modules; depmod wants the former.
    if [[ -d $KDIR.tmp/usr/lib/modules && ! -e $KDIR.tmp/lib ]]; then ln -s usr/lib "$KDIR.tmp/lib"; fi
    depmod -b "$KDIR.tmp" "$(ls "$KDIR.tmp/lib/modules")"  # the packages ship no modules.dep
    touch "$KDIR.tmp/.complete"
    rm -rf "$KDIR" && mv "$KDIR.tmp" "$KDIR"
  fi
  KVER=$(ls "$KDIR/lib/modules")
  # Up to 6.12 in boot/, from 7.x next to the modules.
  for VMLINUZ in "$KDIR/boot/vmlinuz-$KVER" "$KDIR/lib/modules/$KVER/vmlinuz" ""; do
    if [[ -f $VMLINUZ ]]; then break; fi
  done
  [[ -n $VMLINUZ ]] || die "$image has no vmlinuz"
}

# ---- the initramfs: busybox, the virtio and 9p modules, and an init that
# mounts the host's root and runs the command in a chroot of it

# Module files (under lib/modules/KVER) in load order, dependencies first,
# without those the kernel has built in.
module_load_order() {
  local moddir=$1
  shift
  awk -v want="$*" '
    function base(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p); gsub(/-/, "_", p); return p }
    FILENAME ~ /modules\.builtin$/ { builtin[base($1)] = 1; next }
    { key = $1; sub(/:$/, "", key); n = base(key); path[n] = key; deps[n] = ""
      for (i = 2; i <= NF; i++) deps[n] = deps[n] " " base($i) }
    function visit(n,   d, k, i) {
      if (n in done || n in builtin) return
      if (!(n in path)) { print "MISSING " n; return }
      done[n] = 1; k = split(deps[n], d, " ")
      for (i = 1; i <= k; i++) visit(d[i])
      print path[n]
    }
    END { k = split(want, w, " "); for (i = 1; i <= k; i++) visit(w[i]) }
  ' "$moddir/modules.builtin" "$moddir/modules.dep"
}

build_initramfs() {
  local root=$WORK/initramfs moddir="$KDIR/lib/modules/$KVER" module name
  mkdir -p "$root"/{bin,dev,proc,sys,modules}
  cp /bin/busybox "$root/bin/busybox"
  touch "$root/modules.order"
  while read -r module; do
    [[ $module != MISSING* ]] || die "$KVER lacks module ${module#MISSING }"
    # busybox's insmod reads no compressed modules.
    name=${module##*/}; name=${name%%.ko*}.ko
    case $module in
      *.ko.xz) xz -dc "$moddir/$module" ;;
      *.ko.zst) zstd -dcq "$moddir/$module" ;;
      *) cat "$moddir/$module" ;;
    esac >"$root/modules/$name"
    echo "$name" >>"$root/modules.order"
  done < <(module_load_order "$moddir" virtio_pci 9pnet_virtio 9p)

  # Stage 1, PID 1 of the initramfs: modules, the shares, then the chroot.
  # cache=loose: the host's root does not change under a test, and the
  # guest's page cache makes loading programs twice as fast.
  cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
fail() { echo "boot_kernel: $*"; poweroff -f; }
for m in $(cat /modules.order); do insmod "/modules/$m" || fail "insmod $m"; done
mkdir /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /newroot || fail "no host root"
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
mkdir -p /newroot/run/boot_kernel/results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none results /newroot/run/boot_kernel/results ||
  fail "no results share"
cp /bin/busybox /stage2 /command /newroot/run/boot_kernel/
echo "boot_kernel: running the command"
exec chroot /newroot /run/boot_kernel/busybox sh /run/boot_kernel/stage2
EOF
  # Stage 2 runs in the chroot, so that the host's absolute symlinks resolve
  # as they do for the command.
  cat >"$root/stage2" <<'EOF'
B=/run/boot_kernel/busybox
for m in "proc /proc" "sysfs /sys" "devtmpfs /dev" "debugfs /sys/kernel/debug" "tracefs /sys/kernel/tracing" \
         "bpf /sys/fs/bpf" "cgroup2 /sys/fs/cgroup"; do
  set -- $m; $B mount -t "$1" "$1" "$2" 2>/dev/null
done
$B mkdir -p /dev/pts /dev/shm /run/tmp; $B mount -t devpts devpts /dev/pts; $B mount -t tmpfs tmpfs /dev/shm
$B chmod 1777 /dev/shm /run/tmp
$B ip link set lo up
R=/run/boot_kernel/results
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TMPDIR=/run/tmp \
  /bin/bash /run/boot_kernel/command >$R/stdout 2>$R/stderr </dev/null
echo $? >$R/exitcode.tmp && $B mv $R/exitcode.tmp $R/exitcode
$B sync; $B poweroff -f
EOF
  { printf 'cd %q 2>/dev/null || cd /\nexec' "$PWD"; printf ' %q' "${COMMAND[@]}"; printf '\n'; } >"$root/command"
  chmod +x "$root/init"
  (cd "$root" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null) >"$WORK/initramfs.cpio"
}

# ---- the run

COMMAND=("$@")
fetch_kernel
WORK=$(mktemp -d /tmp/boot_kernel.XXXXXX)
RESULTS=$WORK/results
mkdir -p "$RESULTS"
cleanup() {
  if [[ -f $WORK/qemu.pid ]]; then kill "$(cat "$WORK/qemu.pid")" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
build_initramfs

# Software emulation: stock kernels hang on this VM's paravirtual /dev/kvm.
# shellcheck disable=SC2054  # the commas are inside qemu's option values
# One emulation thread: with one per CPU, kernel text patching (static keys)
# oopsed twice in 150 boots, and attaching probes patches text too.
# panic=-1 with -no-reboot ends qemu at once if the guest dies.
QEMU=(
  qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
  -machine pc -accel tcg,thread=single -cpu max -smp "$SMP" -m 2048
  -kernel "$VMLINUZ" -initrd "$WORK/initramfs.cpio"
  -append "console=ttyS0 panic=-1 quiet mitigations=off nomodeset tsc=reliable no_timer_check 8250.nr_uarts=1 $APPEND"
  -serial "file:$WORK/console.log" -nic none -pidfile "$WORK/qemu.pid"
  # multidevs=remap: / spans several file systems, whose inode numbers would collide.
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
  -fsdev "local,id=results,path=$RESULTS,security_model=none"
  -device virtio-9p-pci,fsdev=results,mount_tag=results
)
log "booting $KVER"
start=$SECONDS
status=0
timeout -k 10 "$TIMEOUT" "${QEMU[@]}" >"$WORK/qemu.log" 2>&1 || status=$?

if [[ -f $RESULTS/stdout ]]; then cat "$RESULTS/stdout"; fi
if [[ -f $RESULTS/stderr ]]; then cat "$RESULTS/stderr" >&2; fi
if [[ -f $RESULTS/exitcode ]]; then
  log "the command exited $(cat "$RESULTS/exitcode") after $((SECONDS - start)) s on $KVER"
  exit "$(cat "$RESULTS/exitcode")"
fi
log "---- the end of $KVER's console ----"
tail -n 40 "$WORK/console.log" >&2 || true
cat "$WORK/qemu.log" >&2
if ((status == 124 || status == 137)); then
  log "error: no result after $TIMEOUT s on $KVER"
  exit "$EXIT_TIMEOUT"
fi
die "$KVER stopped (qemu exit $status) before the command ended"
