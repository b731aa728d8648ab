/**
 * The bpf() commands, one typed function each, by family: maps
 * (map-cmds.ts, and map-elem.ts for the element hot path), programs and
 * BTF (prog-cmds.ts), pins and info (obj-cmds.ts), links (link-cmds.ts), what a hook holds (query-cmds.ts).
 * Each encodes its part of `union bpf_attr` through the generated layout
 * (layouts.generated.ts) and passes the size libbpf passes; failures become
 * SyscallError; new fds are kept away from 0-2. This module gathers them
 * for the loader's `import * as sys`.
 */
export { ownFd } from './attr.js';
export { closeFd } from './door.js';
export { mapBatch, mapCreate, mapFreeze, mapKeyless, type BatchAttr, type MapCreateAttr } from './map-cmds.js';
export { MapElemOps } from './map-elem.js';
export { enableStats, fdById, nextId, type ObjectKind } from './id-cmds.js';
export { tokenCreate, tokenInForce, withTokenFd } from './token-cmds.js';
export { btfLoad, progAttach, progBindMap, progDetach, progLoad, progTestRun, type ProgLoadAttr, type TestRunAttr, type TestRunResult } from './prog-cmds.js';
export { objGet, objGetInfoByFd, objPin, openPinned, readInfo, type Info } from './obj-cmds.js';
export { iterCreate, linkCreate, linkDetach, linkUpdate, rawTracepointOpen, type LinkCreateAttr } from './link-cmds.js';
export { progQuery, type ProgQueryResult } from './query-cmds.js';
