/**
 * `nsbox/security`: what a spawned command may do once it runs — Landlock rulesets (the
 * `landlock` option of `spawn()`) and the helpers that build them.
 * @module
 */
export {
  landlockAbi,
  landlockForCommand,
  type LandlockRuleset,
  type LandlockFsRule,
  type LandlockNetRule,
  type LandlockFsAccess,
  type LandlockFsAccessName,
  type LandlockNetAccess,
  type LandlockScope,
  type LandlockCommandOptions,
} from './landlock.js';
