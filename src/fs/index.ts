/**
 * `nsbox/fs`.
 * @module
 */
export {};
