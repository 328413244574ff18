/**
 * `nsbox/fs`: mounts. For now the mount table reader, `mountinfo()`.
 * @module
 */
export { mountinfo, parseMountinfo, type MountInfoEntry, type MountPropagation } from './mountinfo.js';
