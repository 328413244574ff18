#!/usr/bin/env bash
# The cgroup v2 controller tests (test/guest/*.test.mjs, node --test) inside a throw-away
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
exec "$vm_run" --share "$PWD" --timeout 1800 -- node --test "${args[@]}" "${files[@]}"
