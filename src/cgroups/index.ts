/**
 * `nsbox/cgroups`.
 * @module
 */
export {};
