#!/usr/bin/env bash
# The consumer type check: nsbox's published types, as a TypeScript user gets them.
#
#   scripts/consumer-check.sh [nsbox-X.Y.Z.tgz]
#
# Packs this checkout (`npm pack`, unless a tarball is given), installs it into a scratch
# consumer project with TypeScript 5.x and 7.x (aliases ts5/ts7) and @types/node, and runs
# `tsc --noEmit --strict` over test/consumer/ (every public entry point, real APIs, and
# @ts-expect-error lines that prove the types are nsbox's own, not `any`). `skipLibCheck` is
# off, so errors inside our .d.ts files count. What is supported (docs/ci.md):
#   - ESM consumers under --module nodenext (and node16): consumer.ts, also with the strictest
#     options (exactOptionalPropertyTypes, noUncheckedIndexedAccess, verbatimModuleSyntax...);
#   - CommonJS consumers under --module nodenext, a .cts file (require() of ESM, Node >= 20.19);
#   - bundlers: --module preserve --moduleResolution bundler (with a target >= ES2015);
#   - @types/node 20 (our engine) and the newest @types/node.
# `--module commonjs` with the old node10 resolution is not supported: it cannot see the
# package's `exports` subpaths (nsbox/cgroups, …), and TypeScript 7 has removed it.
#
# Needs network access to the npm registry. Prints one TAP line per check on stdout (ok N /
# not ok N, tsc's errors after a failed one); exit status 1 if any check failed.
# Versions: NSBOX_TS5 (default 5.9), NSBOX_TS7 (default 7, the newest 7.x).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d /tmp/nsbox-consumer.XXXXXX)"
trap 'rm -rf "$work"' EXIT

tarball="${1:-}"
if [[ -z $tarball ]]; then
  (cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null) || { echo "not ok 1 - npm pack"; exit 1; }
  tarball="$(ls "$work"/nsbox-*.tgz)"
fi
tarball="$(realpath "$tarball")"

mkdir "$work/consumer"
cd "$work/consumer"
echo '{ "name": "nsbox-consumer", "private": true, "type": "module" }' >package.json
cp "$repo"/test/consumer/consumer.ts "$repo"/test/consumer/consumer-cjs.cts .
# --ignore-scripts: the types need no addon (scripts/install-check.sh proves the install).
install() { npm install --silent --no-audit --no-fund --ignore-scripts "$@" >"$work/npm.log" 2>&1 || { cat "$work/npm.log" >&2; return 1; }; }
n=0
failed=0
check() { # <name> <command...>
  n=$((n + 1))
  if out="$("${@:2}" 2>&1)"; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1"
    sed 's/^/# /' <<<"$out"
    failed=1
  fi
}

ts5="typescript@${NSBOX_TS5:-5.9}"
ts7="typescript@${NSBOX_TS7:-7}"
if ! install "$tarball" "ts5@npm:$ts5" "ts7@npm:$ts7" "@types/node@20"; then
  echo "not ok 1 - install the tarball, $ts5, $ts7 and @types/node@20"
  exit 1
fi
tsc() { "node_modules/$1/bin/tsc" --noEmit --strict "${@:2}"; }
for v in ts5 ts7; do
  ver="$(node -p "require('./node_modules/$v/package.json').version")"
  check "TypeScript $ver, @types/node 20: ESM consumer, --module nodenext" tsc $v --module nodenext consumer.ts
  check "TypeScript $ver, @types/node 20: ESM consumer, --module nodenext with the strictest options" \
    tsc $v --module nodenext --exactOptionalPropertyTypes --noUncheckedIndexedAccess --noPropertyAccessFromIndexSignature \
    --noImplicitOverride --verbatimModuleSyntax consumer.ts
  check "TypeScript $ver, @types/node 20: CommonJS consumer (.cts), --module nodenext" tsc $v --module nodenext consumer-cjs.cts
  check "TypeScript $ver, @types/node 20: --module preserve --moduleResolution bundler" \
    tsc $v --module preserve --moduleResolution bundler --target es2022 consumer.ts
done
if install "@types/node@latest"; then
  types="$(node -p "require('./node_modules/@types/node/package.json').version")"
  for v in ts5 ts7; do
    ver="$(node -p "require('./node_modules/$v/package.json').version")"
    check "TypeScript $ver, @types/node $types: ESM consumer, --module nodenext" tsc $v --module nodenext consumer.ts
  done
else
  check "install @types/node@latest" false
fi
exit "$failed"
