/**
 * Pin-by-name across processes: real child processes load one object into
 * one pin root at the same moment, round after round, some of them failing
 * after their maps are pinned; every process that loads must end up with the
 * one map the pin holds (same map id), and a failed load nobody shares must
 * leave no pin. Plus the single steps: adopting a pin that beat ours, a
 * rollback that leaves a pin holding another map, the lock's timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { fixturePath, readFixture } from '@tsbpf/fixtures';
import { loadCollection } from './collection.js';
import { BpfMap } from './map.js';
import { mapId, pinOrAdopt, takeBackPins, withPinRootLock } from './pin-by-name.js';
import { describeNeeds, hasFile, isRoot, repoRoot, type Requirement } from '../../../test/support/env.js';

const base = `/sys/fs/bpf/tsbpf-pin-race-${process.pid}`;
afterAll(() => rmSync(base, { recursive: true, force: true }));
const spec = parseCollectionSpec(readFixture('maps_btf.bpf.o'));
const pinnedSpec = spec.maps.pinned!;
const want = { type: pinnedSpec.type, keySize: 4, valueSize: 4, maxEntries: 64, flags: pinnedSpec.flags };
const makeRoot = (name: string) => {
  const root = join(base, name);
  mkdirSync(root, { recursive: true });
  return root;
};

describeNeeds([isRoot(), hasFile('/sys/fs/bpf')], 'pin-by-name, one process', () => {
  it('a pin that appears before ours is adopted (EEXIST), and the map we made is closed', () => {
    const root = makeRoot('adopt');
    using winner = BpfMap.create({ ...want, name: 'pinned' });
    winner.pin(join(root, 'pinned'));
    const ours = BpfMap.create({ ...want, name: 'pinned' });
    const r = pinOrAdopt(ours, pinnedSpec, join(root, 'pinned'), want);
    try {
      expect(r.pinned).toBe(false);
      expect(mapId(r.map)).toBe(mapId(winner));
      expect(ours.isOpen).toBe(false);
    } finally {
      r.map.close();
    }
  });

  it('a rollback takes back a pin only while it holds the map this load pinned', () => {
    const root = makeRoot('takeback');
    const path = join(root, 'pinned');
    using ours = BpfMap.create({ ...want, name: 'pinned' });
    using theirs = BpfMap.create({ ...want, name: 'pinned' });
    theirs.pin(path); // another loader replaced our pin meanwhile
    takeBackPins([{ path, mapId: mapId(ours) }]);
    expect(readdirSync(root)).toEqual(['pinned']);
    takeBackPins([{ path, mapId: mapId(theirs) }]);
    expect(readdirSync(root)).toEqual([]);
    takeBackPins([{ path, mapId: mapId(theirs) }]); // nothing there: no error
  });

  it("a load waits for another process's load into the same root, up to pinLockTimeout, then PIN_ROOT_BUSY", () => {
    const root = makeRoot('busy');
    withPinRootLock(root, 1000, () => {
      const t0 = Date.now();
      expect(() => loadCollection(spec, { pinRoot: root, pinLockTimeout: 150 })).toThrow(
        expect.objectContaining({ name: 'LoaderError', code: 'PIN_ROOT_BUSY' }),
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      // Another root is not held up.
      using c = loadCollection(spec, { pinRoot: makeRoot('free') });
      expect(c.maps.pinned!.isOpen).toBe(true);
    });
    expect(readdirSync(root)).toEqual([]);
    using c = loadCollection(spec, { pinRoot: root, pinLockTimeout: 0 });
    expect(readdirSync(root)).toEqual(['pinned']);
  });

  it('a pinRoot that is no directory, and a pinLockTimeout that is no duration, are typed errors', () => {
    expect(() => loadCollection(spec, { pinRoot: join(base, 'missing') })).toThrow(
      expect.objectContaining({ name: 'SyscallError', syscall: 'open', errnoName: 'ENOENT' }),
    );
    for (const t of [-1, Number.NaN, 2 ** 31, '5' as unknown as number]) {
      expect(() => loadCollection(spec, { pinRoot: base, pinLockTimeout: t })).toThrow(expect.objectContaining({ code: 'LOAD_OPTIONS' }));
    }
  });

  it('a map of maps pinned by name is pinned with its slots filled, adopted by the next load, and taken back by a failed one', () => {
    const outerPinned = { ...spec, maps: { ...spec.maps, outer_hash: { ...spec.maps.outer_hash!, pinning: 1 } } };
    const root = makeRoot('outer');
    let id: number;
    {
      using c = loadCollection(outerPinned, { pinRoot: root });
      expect(readdirSync(root).sort()).toEqual(['outer_hash', 'pinned']);
      using pinned = BpfMap.fromPin(join(root, 'outer_hash'));
      id = mapId(pinned);
      expect(mapId(c.maps.outer_hash!)).toBe(id);
      expect(pinned.lookup(new Uint8Array(new Uint32Array([3]).buffer))).toBeDefined(); // slot 3 holds inner_b's id
    }
    {
      using c = loadCollection(outerPinned, { pinRoot: root });
      expect(mapId(c.maps.outer_hash!)).toBe(id);
    }
    const fresh = makeRoot('outer-failed');
    expect(() => loadCollection(outerPinned, { pinRoot: fresh, programs: ['not_in_this_object'] })).toThrow(expect.objectContaining({ code: 'LOAD_OPTIONS' }));
    expect(readdirSync(fresh)).toEqual([]);
  });
});

// --- many processes ---------------------------------------------------------

const loaderDist = join(repoRoot, 'packages/loader/dist/index.js');
const objectDist = join(repoRoot, 'packages/object/dist/index.js');

/** The children run the built packages: they must be built from the sources under test. */
function builtFromSources(): Requirement {
  const reason = 'needs packages/{object,loader}/dist built from the current sources (npm run build)';
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) t = Math.max(t, newest(p));
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) t = Math.max(t, statSync(p).mtimeMs);
    }
    return t;
  };
  try {
    const built = Math.min(statSync(loaderDist).mtimeMs, statSync(objectDist).mtimeMs);
    const sources = Math.max(newest(join(repoRoot, 'packages/loader/src')), newest(join(repoRoot, 'packages/object/src')));
    return { ok: built >= sources, reason };
  } catch {
    return { ok: false, reason };
  }
}

/**
 * One child: parses the object, says `ready`, waits for `go`, loads with the
 * pin root. `ok` children report the pinned map's id and hold the collection
 * open until told to `exit`; `fail` children fail after their maps exist
 * (the program list ends in a name the object lacks, reached after a pause),
 * so the pins they made are there for a while before their rollback.
 */
const CHILD = `
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const [loaderDist, objectDist, object, root, mode, holdMs] = process.argv.slice(1);
const { loadCollection } = await import(loaderDist);
const { parseCollectionSpec } = await import(objectDist);
const spec = parseCollectionSpec(readFileSync(object));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
say({ ready: true });
await lines.next();
const programs = Object.keys(spec.programs);
const failing = {
  *[Symbol.iterator]() {
    yield* programs;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(holdMs));
    yield 'not_in_this_object';
  },
};
let c;
try {
  c = loadCollection(spec, { pinRoot: root, programs: mode === 'fail' ? failing : undefined });
} catch (e) {
  say({ ok: false, code: e.code, message: e.message });
  process.exit(0);
}
// The kernel's id of the map this process uses, as its fd's fdinfo gives it.
const fdinfo = readFileSync(\`/proc/self/fdinfo/\${c.maps.pinned.fd}\`, 'utf8');
say({ ok: true, mapId: Number(/^map_id:\\s*(\\d+)$/m.exec(fdinfo)[1]) });
await lines.next();
c.close();
process.exit(0);
`;

interface Report {
  ok?: boolean;
  mapId?: number;
  code?: string;
  message?: string;
}

class Child {
  readonly proc: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(root: string, mode: 'ok' | 'fail', holdMs: number) {
    this.proc = spawn(
      process.execPath,
      ['--input-type=module', '-e', CHILD, loaderDist, objectDist, fixturePath('maps_btf.bpf.o'), root, mode, String(holdMs)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    this.lines = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]();
    this.proc.stdin!.on('error', () => {}); // a child that has exited already (EPIPE): its report says why
  }
  async next(): Promise<Report> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`child ${this.proc.pid} ended without a report`);
    return JSON.parse(r.value) as Report;
  }
  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }
  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

/** One round: `modes.length` children released at once; their reports and the pin left behind (its map id, or undefined). */
async function round(root: string, modes: readonly ('ok' | 'fail')[], holdMs: number): Promise<{ reports: Report[]; pinId: number | undefined }> {
  const children = modes.map((m) => new Child(root, m, holdMs));
  try {
    for (const c of children) expect(await c.next()).toEqual({ ready: true });
    for (const c of children) c.send('go');
    // Every report is in while the `ok` children still hold their collections (their maps live).
    const reports = await Promise.all(children.map((c) => c.next()));
    let pinId: number | undefined;
    if (readdirSync(root).includes('pinned')) {
      using m = BpfMap.fromPin(join(root, 'pinned'));
      pinId = mapId(m);
    }
    for (const c of children) c.send('exit');
    await Promise.all(children.map((c) => new Promise((done) => (c.proc.exitCode !== null ? done(0) : c.proc.once('exit', done)))));
    return { reports, pinId };
  } finally {
    for (const c of children) c.kill();
  }
}

describeNeeds([isRoot(), hasFile('/sys/fs/bpf'), builtFromSources()], 'pin-by-name, many processes at once', () => {
  it('loads that race agree on one map; a failed load (pinned first, failed later) leaves none of its pins and no second map', async () => {
    const root = makeRoot('race');
    const plans: { modes: ('ok' | 'fail')[]; fresh: boolean }[] = [];
    for (let i = 0; i < 6; i++) {
      plans.push({ modes: ['ok', 'ok', 'ok', 'ok'], fresh: true }); // who creates it
      plans.push({ modes: ['fail', 'ok', 'fail', 'ok'], fresh: true }); // a creator that fails after pinning
      plans.push({ modes: ['fail', 'fail', 'fail'], fresh: true }); // failures only: nothing left
      plans.push({ modes: ['ok', 'fail', 'ok'], fresh: false }); // the pin from the round before is adopted
    }
    let previous: number | undefined;
    for (const [n, plan] of plans.entries()) {
      if (plan.fresh) rmSync(join(root, 'pinned'), { force: true });
      const { reports, pinId } = await round(root, plan.modes, 40);
      const where = `round ${n} (${plan.modes.join(', ')})`;
      reports.forEach((r, i) => {
        if (plan.modes[i] === 'ok') expect(r, where).toMatchObject({ ok: true });
        else expect(r, where).toMatchObject({ ok: false, code: 'LOAD_OPTIONS' });
      });
      const ids = reports.filter((r) => r.ok).map((r) => r.mapId);
      if (ids.length === 0) {
        expect(pinId, `${where}: a failed load nobody shares leaves no pin`).toBeUndefined();
      } else {
        expect(new Set(ids).size, `${where}: every process has the same map`).toBe(1);
        expect(pinId, `${where}: and it is the pinned one`).toBe(ids[0]);
        if (!plan.fresh) expect(pinId, `${where}: the pin that was there is adopted`).toBe(previous);
      }
      previous = pinId;
      // A fresh round after this one starts from no pin at all; an adopting round from this one's.
      if (!plans[n + 1]?.fresh && pinId === undefined) {
        const c = loadCollection(spec, { pinRoot: root });
        c.close();
        using m = BpfMap.fromPin(join(root, 'pinned'));
        previous = mapId(m);
      }
    }
  }, 240_000);
});
