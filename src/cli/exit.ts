/**
 * The exit statuses and the help line the `nsbox` command shares between its modules.
 * @internal
 * @module
 */

/** "the runner failed" (as env(1), docker, timeout(1) use 125). @internal */
export const EXIT_NSBOX = 125;

/** The line that ends every error naming a flag. @internal */
export const TRY_HELP = "\nTry 'nsbox --help' for more information.";
