#!/usr/bin/env bash
# The guest tests (test/guest/*.test.mjs, node --test: the cgroup v2 controllers, and the OCI
# runtime under podman, containerd and as a systemd system container) inside a throw-away
# pure cgroup v2 guest (scripts/vm-run: qemu, root, every controller enabled), since a
# hybrid host's v2 tree lacks memory, pids, cpu, cpuset and io. Needs root and npm ci done;
# builds the addon and dist/ here first if they are stale (the guest has no network, runs no
# compiler, and sees this checkout through --share).
#
# Usage: scripts/guest-tests.sh [NODE_TEST_ARGS...] [-- FILE...]
# Arguments go to node --test (e.g. --test-reporter=tap); files after `--` replace the
# default test/guest/ (e.g. -- test/guest/cgroup-controllers.test.mjs).
# VM_RUN names another runner with the same interface. Exit status: node's, or the
# runner's 124 (timeout) / 125 (the VM failed).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
vm_run="${VM_RUN:-$repo/scripts/vm-run}"
if [[ $(id -u) -ne 0 ]]; then
  echo "guest-tests: must run as root (the guest runner serves / to a qemu guest); see docs/ci.md" >&2
  exit 125
fi
args=() files=(test/guest/)
while [[ $# -gt 0 ]]; do
  if [[ $1 == -- ]]; then
    shift
    files=("$@")
    break
  fi
  args+=("$1")
  shift
done
node scripts/ensure-built.mjs >&2 # stdout stays the tests' (TAP in CI)
# The system container's root (test/guest/systemd.test.mjs) is made here, on the host: the
# guest has no network. Cached outside the checkout; when it cannot be made (no debootstrap,
# no Debian mirror) the test says so and skips (.ci/run makes it first, as a counted check).
if [[ " ${files[*]} " == *" test/guest/ "* || " ${files[*]} " == *systemd.test.mjs* ]]; then
  scripts/systemd-rootfs.sh >/dev/null || echo "guest-tests: no systemd rootfs (scripts/systemd-rootfs.sh failed): test/guest/systemd.test.mjs will skip" >&2
fi
# 3 GB: podman's storage and the system container's image and tmpfs live in the guest's RAM.
exec "$vm_run" --share "$PWD" --mem 3072 --timeout 1800 -- node --test "${args[@]}" "${files[@]}"
