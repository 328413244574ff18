#!/usr/bin/env bash
# A Debian bookworm root filesystem with systemd, packed as a tar for `podman import`: the
# system container of test/guest/systemd.test.mjs (systemd as PID 1 under crun and nsbox-oci).
# Made on the host, because the guest has no network: debootstrap --variant=minbase
# --include=systemd,systemd-sysv from deb.debian.org (~1-3 minutes, ~60 MB of packages).
#
# Usage: scripts/systemd-rootfs.sh [--path] [TAR]
#   TAR     where the tarball goes (default $NSBOX_SYSTEMD_ROOTFS, else
#           /var/cache/nsbox-ci/bookworm-systemd-rREV.tar). Kept between runs, outside the
#           repository: an existing one is reused; delete it to make it again. REV is the
#           recipe's revision below: bump it when what goes into the tarball changes.
#   --path  only print the tarball's path (what the guest test looks for)
# Prints the tarball's path on stdout. Root only (debootstrap makes device nodes and chroots).
# NSBOX_DEBIAN_MIRROR names another mirror. Exit status: 0 with the tarball there, 1
# otherwise (nothing half-made is left at TAR).
set -euo pipefail
rev=1
only_path=0
if [[ ${1:-} == --path ]]; then
  only_path=1
  shift
fi
tar_path="${1:-${NSBOX_SYSTEMD_ROOTFS:-/var/cache/nsbox-ci/bookworm-systemd-r$rev.tar}}"
mirror="${NSBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if [[ $only_path -eq 1 ]]; then
  echo "$tar_path"
  exit 0
fi

if [[ -s $tar_path ]]; then
  echo "$tar_path"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "systemd-rootfs: must run as root (debootstrap)" >&2
  exit 1
fi
command -v debootstrap >/dev/null || {
  echo "systemd-rootfs: debootstrap is not installed (apt-get install debootstrap)" >&2
  exit 1
}
mkdir -p "$(dirname "$tar_path")"
# One maker at a time (CI and a developer's guest-tests.sh may race for the cache).
exec 9>"$tar_path.lock"
flock 9
if [[ -s $tar_path ]]; then
  echo "$tar_path"
  exit 0
fi

dir="$(mktemp -d /var/tmp/nsbox-bookworm.XXXXXX)"
cleanup() {
  # debootstrap mounts proc and sys in the target; never rm -rf through a mount.
  local m
  for m in $(awk -v d="$dir" '$2 ~ "^"d {print $2}' /proc/self/mounts | sort -r); do umount -l "$m" || true; done
  rm -rf --one-file-system "$dir" "$tar_path.tmp"
}
trap cleanup EXIT
echo "systemd-rootfs: debootstrap bookworm (minbase + systemd) into $dir" >&2
debootstrap --variant=minbase --include=systemd,systemd-sysv bookworm "$dir/root" "$mirror" >&2
# The image carries no apt lists or package cache, no documentation or translations (a
# third of its size: podman import is slow under emulation), and an empty machine-id, so that
# systemd makes one at boot (a system container's first boot, as systemd's container
# interface says).
rm -rf "$dir"/root/var/cache/apt/archives/*.deb "$dir"/root/var/lib/apt/lists/* \
  "$dir"/root/usr/share/doc/* "$dir"/root/usr/share/man/* "$dir"/root/usr/share/info/* "$dir"/root/usr/share/locale/*
: >"$dir/root/etc/machine-id"
tar --numeric-owner --xattrs -C "$dir/root" -cf "$tar_path.tmp" .
mv "$tar_path.tmp" "$tar_path"
echo "systemd-rootfs: $(du -h "$tar_path" | cut -f1) $tar_path" >&2
echo "$tar_path"
