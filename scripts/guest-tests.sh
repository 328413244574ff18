#!/usr/bin/env bash
# The cgroup v2 controller tests (test/guest/*.test.mjs, node --test) inside a throw-away
# pure cgroup v2 guest (../shared/tools/vm-run: qemu, root, every controller enabled), since
# a hybrid host's v2 tree lacks memory, pids, cpu, cpuset and io. Needs root, dist/ and the
# addon built (the guest has no network and sees this checkout through --share).
# Extra arguments go to node --test (e.g. --test-reporter=tap). Exit status: node's, or
# vm-run's 124 (timeout) / 125 (the VM failed).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
vm_run="${VM_RUN:-$repo/../shared/tools/vm-run}"
if [[ ! -x $vm_run ]]; then
  echo "guest-tests: $vm_run not found (set VM_RUN)" >&2
  exit 125
fi
exec "$vm_run" --share "$PWD" --timeout 900 -- node --test "$@" test/guest/
