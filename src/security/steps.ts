/**
 * The security steps of the spawn plan, in the order runc, crun and minijail use:
 *
 * parent: rlimits, oom_score_adj (first step) → child: mounts, pivot_root, hostname, sysctl
 * (with the mounts) → umask, personality → no_new_privs → bounding set, KEEPCAPS →
 * setgroups/setresgid/setresuid (spawn.ts) → capset, ambient → terminal, fds, cwd (spawn.ts)
 * → PDEATHSIG again → the start gate (`startGate`: create/start) → Landlock → seccomp → execve.
 *
 * Without no_new_privs, seccomp(2) and landlock_restrict_self(2) need CAP_SYS_ADMIN, which
 * the capability steps may drop: the filters then come before them (runc and crun do the
 * same), right after the terminal, fds and cwd, which move with them — as runc and crun set
 * up stdio, close fds and chdir before their early filter — so that a profile need not allow
 * close_range(2) or openat2(2). The filters must allow the syscalls of the steps that follow
 * (capabilities, credentials, PDEATHSIG, the gate, execve); none of them is the command's.
 * @internal
 * @module
 */
import type { SpawnParentSide } from '../native.js';
import type { PlanBuilder } from '../namespaces/plan.js';
import type { CheckedSecurity } from './options.js';

/** What the parent applies at OP_PARENT, or undefined when nothing. */
export function parentSide(s: CheckedSecurity): SpawnParentSide | undefined {
  if (s.rlimits === undefined && s.oomScoreAdj === undefined) return undefined;
  return { ...(s.rlimits && { rlimits: s.rlimits }), ...(s.oomScoreAdj !== undefined && { oomScoreAdj: s.oomScoreAdj }) };
}

/** The filters: Landlock, then seccomp. */
function filters(plan: PlanBuilder, s: CheckedSecurity): void {
  if (s.landlock) plan.landlock(s.landlock);
  if (s.seccomp) plan.seccomp(s.seccomp.flags, s.seccomp.program);
}

/** True when the filters come before the capability and credential steps (no no_new_privs). */
export function filtersEarly(s: CheckedSecurity): boolean {
  return !s.noNewPrivileges && !!(s.landlock || s.seccomp);
}

/**
 * Before the credential steps: umask, personality, no_new_privs, the bounding set. With
 * {@link filtersEarly}, `io` (the terminal, fds and cwd steps) and the filters come before the
 * bounding set; otherwise spawn adds `io` after the capability sets.
 */
export function addBeforeCredentials(plan: PlanBuilder, s: CheckedSecurity, io: () => void): void {
  if (s.umask !== undefined) plan.umask(s.umask);
  if (s.personality !== undefined) plan.personality(s.personality);
  if (s.noNewPrivileges) plan.noNewPrivs();
  if (filtersEarly(s)) {
    io();
    filters(plan, s);
  }
  if (s.caps) plan.capBound(s.caps.bounding, s.caps.last);
}

/** After the credential steps: the capability sets. */
export function addAfterCredentials(plan: PlanBuilder, s: CheckedSecurity): void {
  const c = s.caps;
  if (c) plan.capset(c.effective, c.permitted, c.inheritable, c.ambient, c.last);
}

/** Last before execve (after fds, cwd and PDEATHSIG): the filters, when no_new_privs is on. */
export function addLast(plan: PlanBuilder, s: CheckedSecurity): void {
  if (s.noNewPrivileges) filters(plan, s);
}
