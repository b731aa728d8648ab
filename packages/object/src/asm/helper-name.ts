/** BPF helper names by id. */
import { helperNames } from './helpers.generated.js';

/** The name of a BPF helper by BPF_FUNC_* id (`bpf_map_lookup_elem` for 1), if known. */
export function helperName(id: number): string | undefined {
  return Number.isInteger(id) && id >= 0 ? helperNames[id] : undefined;
}
