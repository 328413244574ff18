#!/usr/bin/env bash
# The install check: the packed tarball installs and works on a machine without a compiler.
#
#   scripts/install-check.sh nsbox-X.Y.Z.tgz
#
# Installs the tarball into a fresh project with PATH reduced to a directory of symlinks to
# node, npm, npx and a few basic tools, so g++, cc, make and python3 cannot be found: the
# install must use the prebuilt addon in prebuilds/linux-<arch>/ (a source build would need
# them). Then runs the main command and a library import. Last, the fallback: the same
# tarball without this architecture's prebuild, installed with the compilers on PATH, must
# build the addon from source (the install script, scripts/install.mjs) and work.
# Needs root or unprivileged user namespaces, and the npm registry for nsbox's dependencies.
# Prints one TAP line per check on stdout; exit status 1 if any failed.
set -uo pipefail
if [[ $# -ne 1 || ! -f $1 ]]; then
  echo "usage: scripts/install-check.sh nsbox-X.Y.Z.tgz" >&2
  exit 2
fi
tarball="$(realpath "$1")"
work="$(mktemp -d /tmp/nsbox-install.XXXXXX)"
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# The PATH: node and npm, and what npm's script shell and the checks below use.
bin="$work/bin"
mkdir "$bin"
for tool in node npm npx sh bash env cat ls mkdir rm cp mv ln chmod id uname grep sed dirname basename readlink realpath true false; do
  p="$(command -v "$tool")" && ln -s "$p" "$bin/$tool"
done
run() { env -u npm_config_node_gyp -u npm_config_python -u PYTHON PATH="$bin" "$@"; }

n=0
failed=0
check() { # <name> <command...>: the command's output is shown as TAP comments when it fails
  n=$((n + 1))
  if out="$("${@:2}" 2>&1)"; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1"
    sed 's/^/# /' <<<"$out"
    failed=1
  fi
}

no_compiler() {
  local c found=0
  for c in cc gcc g++ c++ clang make python3 python; do
    if run sh -c "command -v $c"; then found=1; fi
  done
  return "$found"
}
check "no compiler, make or python on the install's PATH" no_compiler

app="$work/app"
mkdir "$app"
echo '{ "name": "nsbox-install-check", "private": true, "type": "module" }' >"$app/package.json"
install() { (cd "$app" && run npm install --no-audit --no-fund --foreground-scripts "$tarball"); }
check "npm install of the tarball without a compiler" install

# node-gyp-build's choice is the witness: the prebuild, and no source build left behind.
uses_prebuild() {
  local got
  got="$(cd "$app" && run node -e 'console.log(require("node-gyp-build").resolve("node_modules/nsbox"))')" || return 1
  echo "node-gyp-build resolves to $got"
  [[ $got == */node_modules/nsbox/prebuilds/linux-* && ! -e $app/node_modules/nsbox/build ]]
}
check "the addon loaded is the prebuild (no build/ in the installed package)" uses_prebuild

# The bin takes that prebuild without node-gyp-build's search (src/dlopen.ts localAddon): strace
# sees it open the file and never list prebuilds/.
direct_prebuild() {
  local log="$work/opens" bin="$app/node_modules/nsbox/dist/nsbox-cli/nsbox.cjs"
  command -v strace >/dev/null || { echo "strace is not installed"; return 1; }
  strace -qq -e trace=openat -e signal=none -o "$log" node "$bin" --version || return 1
  grep -E 'prebuilds' "$log"
  grep -qE '"[^"]*/node_modules/nsbox/prebuilds/linux-[a-z0-9]+/nsbox\.glibc\.node", O_RDONLY' "$log" &&
    ! grep -qE '/node_modules/nsbox/prebuilds(/linux-[a-z0-9]+)?", O_RDONLY\|O_NONBLOCK\|O_CLOEXEC\|O_DIRECTORY' "$log"
}
check "the installed bin opens its prebuild directly, without listing prebuilds/" direct_prebuild

# The command's own PATH is the usual one: its root holds the host's /usr, /bin, ..., not the
# scratch directory of symlinks that the install ran with.
main_command() {
  local got
  got="$(cd "$app" && run npx --no-install nsbox run --hostname box --env PATH=/usr/bin:/bin -- sh -c 'cat /proc/1/comm; id -u; hostname' | tr '\n' ' ')" || return 1
  echo "printed: $got"
  [[ $got == 'nsbox-init 0 box ' ]]
}
check "npx nsbox run --hostname box -- sh -c 'cat /proc/1/comm; id -u; hostname' prints nsbox-init, 0, box" main_command

library() {
  local got
  got="$(cd "$app" && run node --input-type=module -e "
    import { spawn } from 'nsbox';
    import { features } from 'nsbox';
    const child = spawn('sh', ['-c', 'echo \$\$'], { namespaces: ['user', 'pid'], stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    for await (const chunk of child.stdout.setEncoding('utf8')) out += chunk;
    const { code } = await child.exited;
    if (typeof features().clone3 !== 'boolean') throw new Error('features() has no clone3');
    console.log(out.trim(), code);
  ")" || return 1
  echo "printed: $got"
  [[ $got == '1 0' ]]
}
check "import { spawn } from 'nsbox': a child in a new pid namespace is PID 1" library

# The fallback, where no prebuild matches (musl, another architecture): a source build.
source_build() {
  local arch got
  arch="$(node -p process.arch)"
  mkdir "$work/repack" "$work/src-app" && tar -xzf "$tarball" -C "$work/repack" || return 1
  rm -rf "$work/repack/package/prebuilds/linux-$arch"
  tar -czf "$work/no-prebuild.tgz" -C "$work/repack" package || return 1
  echo '{ "name": "nsbox-source-check", "private": true, "type": "module" }' >"$work/src-app/package.json"
  (cd "$work/src-app" && npm install --no-audit --no-fund --foreground-scripts "$work/no-prebuild.tgz") || return 1
  got="$(cd "$work/src-app" && node -e 'console.log(require("node-gyp-build").resolve("node_modules/nsbox"))')" || return 1
  echo "node-gyp-build resolves to $got"
  [[ $got == */node_modules/nsbox/build/Release/nsbox.node ]] || return 1
  (cd "$work/src-app" && npx --no-install nsbox run -- true)
}
check "without a matching prebuild, the install builds the addon from source" source_build
exit "$failed"
