// Leaves the machine as the suite found it: /run/netns, which createNetns (like `ip netns add`)
// makes a shared mount point and keeps, is unmounted again afterwards if it was not one before
// and no namespace is left in it (test/helpers/run-netns.mjs).
import { keepRunNetns } from './run-netns.mjs';

let restore: (() => void) | undefined;

export function setup(): void {
  restore = keepRunNetns();
}

export function teardown(): void {
  restore?.();
}
