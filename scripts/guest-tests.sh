#!/usr/bin/env bash
# The cgroup v2 controller tests (test/guest/*.test.mjs, node --test) inside a throw-away
# pure cgroup v2 guest (scripts/vm-run: qemu, root, every controller enabled), since a
# hybrid host's v2 tree lacks memory, pids, cpu, cpuset and io. Needs root, dist/ and the
# addon built (the guest has no network and sees this checkout through --share).
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
exec "$vm_run" --share "$PWD" --timeout 900 -- node --test "${args[@]}" "${files[@]}"
