/**
 * `nsbox/cgroups`: cgroup v2. For now discovery only: where the v2 hierarchy is mounted,
 * which controllers it offers, and which cgroup a process is in. Read-only; cgroup v1
 * hierarchies are never touched.
 * @module
 */
export { findCgroup2, currentCgroup, type Cgroup2Mount, type CurrentCgroup } from './discovery.js';
