/**
 * The element commands of the maps' hot path, each with the attr size it is
 * made with: MapElemOps passes them to bpfHot, whose stubs have them built
 * in (sys/ffi.ts), so both take them from here.
 */
import { attrSize, bpfCmd } from './layouts.generated.js';

export const LOOKUP = bpfCmd.MAP_LOOKUP_ELEM,
  LOOKUP_SIZE = attrSize.MAP_LOOKUP_ELEM,
  UPDATE = bpfCmd.MAP_UPDATE_ELEM,
  UPDATE_SIZE = attrSize.MAP_UPDATE_ELEM,
  DELETE = bpfCmd.MAP_DELETE_ELEM,
  DELETE_SIZE = attrSize.MAP_DELETE_ELEM,
  NEXT = bpfCmd.MAP_GET_NEXT_KEY,
  NEXT_SIZE = attrSize.MAP_GET_NEXT_KEY;
