/**
 * seccomp(2)'s filter flags nsbox reads outside the compiler, in a module of their own so
 * that reading one (the start gate does) does not load the compiler and its syscall tables.
 * @module
 */

/** SECCOMP_FILTER_FLAG_NEW_LISTENER: seccomp(2) returns a user-notification fd. */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
