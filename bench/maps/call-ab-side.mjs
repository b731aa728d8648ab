// bench/maps/call-ab-side: one side of call-ab (see there): the loops of the
// rows over one build's BpfMap and TypedMap. call-ab imports this module once
// per side (`?A`, `?B`): each instance has functions of its own, so the two
// sides' loops keep separate type feedback. (From one module, both sides'
// closures would share it: every call site would see both builds' classes,
// polymorphic, and identical copies measured 17 ns apart on update.)
import { join, resolve } from 'node:path';

export async function side(name, loaderDir, mapsDir, { N, WALKS, ENTRIES }) {
  const { BpfMap } = await import(join(resolve(loaderDir), 'index.js'));
  const { TypedMap, struct, u32, u64 } = await import(join(resolve(mapsDir), 'index.js'));
  const Stats = struct({ packets: u64, bytes: u64, ifindex: u32, flags: u32 });
  const key = new Uint8Array(4),
    kv = new DataView(key.buffer);
  const value = new Uint8Array(8),
    vv = new DataView(value.buffer);
  const out = new Uint8Array(8);
  let sum = 0,
    sink = 0n;
  /** [wall, user CPU] ns an operation. */
  const time = (f, ops = N) => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    f();
    return [Number(process.hrtime.bigint() - t0) / ops, (process.cpuUsage(c0).user * 1000) / ops];
  };
  return () => {
    const m = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 1024, name: `ab_${name}` });
    const raw = BpfMap.create({ type: 1, keySize: 4, valueSize: 24, maxEntries: 65536, name: `ab_typed_${name}` });
    const t = new TypedMap(raw, u32, Stats);
    if (process.env.NO_SYSCALL === '1') for (const x of [m, raw]) x.memory.ops.call = () => 0;
    try {
      const r = {
        update: time(() => {
          for (let i = 0; i < N; i++) {
            kv.setUint32(0, i & 1023, true);
            vv.setUint32(0, i, true);
            m.update(key, value);
          }
        }),
        lookup: time(() => {
          for (let i = 0; i < N; i++) {
            kv.setUint32(0, i & 1023, true);
            sum += m.lookup(key)[0];
          }
        }),
        lookupInto: time(() => {
          for (let i = 0; i < N; i++) {
            kv.setUint32(0, i & 1023, true);
            if (m.lookupInto(key, out)) sum += out[0];
          }
        }),
        'typed set': time(() => {
          for (let i = 0; i < N; i++) t.set(i & 1023, { packets: BigInt(i), bytes: BigInt(i * 2), ifindex: i & 1023, flags: 0 });
        }),
        'typed get': time(() => {
          for (let i = 0; i < N; i++) {
            const v = t.get(i & 1023);
            if (v) sink += v.packets;
          }
        }),
      };
      if (WALKS > 0) {
        // As bench/typed: a full map of 65,536, walked in batches; entries() and forEach() alternated.
        t.setMany(Array.from({ length: ENTRIES }, (_, i) => [i, { packets: BigInt(i), bytes: 0n, ifindex: i, flags: 0 }]));
        let seen = 0;
        const walks = { entries: [], forEach: [] };
        for (let w = 0; w < WALKS; w++) {
          walks.entries.push(
            time(() => {
              for (const [, v] of t.entries()) {
                sink += v.packets;
                seen++;
              }
            }, ENTRIES),
          );
          walks.forEach.push(
            time(
              () =>
                t.forEach((v) => {
                  sink += v.packets;
                  seen++;
                }),
              ENTRIES,
            ),
          );
        }
        if (seen !== 2 * WALKS * ENTRIES) throw new Error(`call-ab: walked ${seen} entries, want ${2 * WALKS * ENTRIES}`);
        const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
        r['entries() an element'] = [mean(walks.entries, 0), mean(walks.entries, 1)];
        r['forEach() an element'] = [mean(walks.forEach, 0), mean(walks.forEach, 1)];
      }
      if (sum < 0 || sink < 0n) throw new Error('unreachable');
      return r;
    } finally {
      m.close();
      raw.close();
    }
  };
}
