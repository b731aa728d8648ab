/**
 * How much work a codec plan stands for (and the scalar sizes it is weighed by): the bytes its codec reads and
 * writes, and the check that refuses a plan whose codec would do far more
 * work than its bytes justify (see checkWork).
 */
import type { CodecPlan } from './codec-plan.js';
import { CodecError } from './errors.js';

/** The built-in codecs a plan names (exported by @tsbpf/maps under these names), with their sizes. */
export const SCALAR_SIZES = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
  i64: 8,
  u64AsNumber: 8,
  i64AsNumber: 8,
  bool: 1,
  f32: 4,
  f64: 8,
  be16: 2,
  be32: 4,
  ipv4: 4,
  ipv6: 16,
} as const;

/** The most members, elements and enumerators a plan may spell out (a tree, shared types counted at each use). */
export const MAX_PLAN_NODES = 1 << 17;

/** The bytes a plan's codec reads and writes. */
export function planSize(plan: CodecPlan): number {
  switch (plan.kind) {
    case 'scalar':
      return SCALAR_SIZES[plan.scalar];
    case 'bytes':
    case 'cstring':
      return plan.size;
    case 'array':
      return planSize(plan.element) * plan.length;
    case 'enum':
      return SCALAR_SIZES[plan.base];
    case 'enum64':
      return 8;
    case 'int128':
      return 16;
    case 'bitfield':
      return Math.ceil((plan.shift + plan.bits) / 8);
    case 'struct':
    case 'union':
      return plan.size;
  }
}

/**
 * Refuses a plan whose codec would do far more work than its bytes justify:
 * more than MAX_PLAN_NODES members and elements to spell out (what tsbpf gen
 * writes), or a decode building more values than 64 a byte (unions overlay
 * their members, and an empty struct takes no bytes at all).
 */
export function checkWork(root: CodecPlan): void {
  const nodes = new Map<CodecPlan, number>();
  const values = new Map<CodecPlan, number>();
  const weigh = (plan: CodecPlan): [number, number] => {
    const known = nodes.get(plan);
    if (known !== undefined) return [known, values.get(plan)!];
    let n = 1;
    let v = 1;
    if (plan.kind === 'array') {
      const [en, ev] = weigh(plan.element);
      n += en;
      // Numeric elements decode into one typed array.
      v += plan.element.kind === 'scalar' ? 0 : plan.length * ev;
    } else if (plan.kind === 'struct' || plan.kind === 'union') {
      for (const f of plan.fields) {
        const [fn, fv] = weigh(f.plan);
        n += fn;
        v += fv;
      }
      if (plan.kind === 'union') for (const group of plan.members) for (const f of group) n += weigh(f.plan)[0];
    }
    nodes.set(plan, Math.min(n, Number.MAX_SAFE_INTEGER));
    values.set(plan, Math.min(v, Number.MAX_SAFE_INTEGER));
    return [n, v];
  };
  const [n, v] = weigh(root);
  const what = 'name' in root ? root.name : `BTF type [${'id' in root ? root.id : '?'}]`;
  if (n > MAX_PLAN_NODES) throw new CodecError('CODEC_LAYOUT', `${what}: ${n} members and elements to spell out (more than ${MAX_PLAN_NODES})`);
  const size = planSize(root);
  if (v > 64 * size + 65536) throw new CodecError('CODEC_LAYOUT', `${what}: a decode would build ${v} values from ${size} bytes`);
}
