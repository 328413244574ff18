/**
 * `nsbox/net`.
 * @module
 */
export {};
