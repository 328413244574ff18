#!/usr/bin/env node
/**
 * The `nsbox-oci` command: an OCI runtime with runc's command line (create, start, state,
 * kill, delete, run, exec, list, ps, pause, resume, spec, features) on nsbox. Each command's
 * code is imported only when it runs, so `state` loads neither the addon nor the spawn code.
 * This is tsc's unlinked program; npm links the bin `dist/oci-runtime/nsbox-oci.cjs`
 * (src/oci/runtime/bin.ts). See `nsbox-oci --help` and docs/oci.md.
 * @module
 */
import { run } from './oci/runtime/cli.js';
import type { CommandMain } from './oci/runtime/context.js';

run((module) => import(`./oci/runtime/commands/${module}.js`) as Promise<{ main: CommandMain }>);
