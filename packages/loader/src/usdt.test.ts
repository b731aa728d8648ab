import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCollectionSpec, parseUsdtArgs, parseUsdtNotes } from '@tsbpf/object';
import { compile } from '@tsbpf/compiler';
import { loadCollection, type Collection } from './collection.js';
import { RingBufferReader } from './ring-reader.js';
import { attach } from './link.js';
import { attachUsdt, attachUsdtSection, parseUsdtSection, readUsdtProbes } from './usdt.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-usdt-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Probes with known values: ints of 1, 2, 4 and 8 bytes (negative), an unsigned
// int past 2^31, a string pointer, constants, struct fields through a pointer
// (memory at a register, with and without an offset); a probe behind a semaphore (it
// prints whether the semaphore was up), and one probe written at two sites.
const TARGET_C = `#include <stdio.h>
#include <sys/sdt.h>
extern unsigned short tsbpf_test_gated_semaphore;
void gated(void);
struct pair { int a; long b; };
int main(void) {
  volatile signed char c = -5; volatile short s = -1234; volatile int i = -123456789;
  volatile long long l = -1234567890123LL; volatile unsigned int u = 4000000000u;
  char msg[16] = "hello usdt"; /* on the stack: its page is there when the probe reads it */
  const char *volatile str = msg;
  STAP_PROBE6(tsbpf_test, args, c, s, i, l, u, str);
  struct pair pair = { -11, 1L << 40 };
  struct pair *volatile pp = &pair;
  struct pair *q = pp;
  STAP_PROBE2(tsbpf_test, mem, q->a, q->b);
  STAP_PROBE2(tsbpf_test, consts, 42, -7);
  gated();
  STAP_PROBE1(tsbpf_test, twice, 1);
  STAP_PROBE1(tsbpf_test, twice, (long)(i & 0xff));
  printf("semaphore %u\\n", (unsigned)tsbpf_test_gated_semaphore);
  return 0;
}
`;
// The semaphore probe (a file of its own: _SDT_HAS_SEMAPHORES gives every probe of a file one).
const GATED_C = `#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
unsigned short tsbpf_test_gated_semaphore __attribute__((section(".probes")));
void gated(void) {
  if (tsbpf_test_gated_semaphore) STAP_PROBE1(tsbpf_test, gated, 99);
}
`;

// A libbpf USDT program, usdt.bpf.h unchanged.
const PROGRAM_C = `#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
struct event { long tag, count, cookie, a[6]; char str[16]; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
static struct event *start(struct pt_regs *ctx, long tag) {
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  __builtin_memset(e, 0, sizeof(*e));
  e->tag = tag;
  e->count = bpf_usdt_arg_cnt(ctx);
  e->cookie = bpf_usdt_cookie(ctx);
  return e;
}
SEC("usdt") int BPF_USDT(on_args, long c, long s, long i, long l, long u, const char *str) {
  struct event *e = start(ctx, 1);
  if (!e) return 0;
  e->a[0] = c; e->a[1] = s; e->a[2] = i; e->a[3] = l; e->a[4] = u; e->a[5] = (long)str;
  bpf_probe_read_user_str(e->str, sizeof(e->str), str);
  bpf_ringbuf_submit(e, 0);
  return 0;
}
SEC("usdt") int BPF_USDT(on_consts, long a, long b) {
  struct event *e = start(ctx, 2);
  if (!e) return 0;
  e->a[0] = a; e->a[1] = b;
  bpf_ringbuf_submit(e, 0);
  return 0;
}
SEC("usdt") int BPF_USDT(on_one, long x) {
  struct event *e = start(ctx, 3);
  if (!e) return 0;
  e->a[0] = x;
  bpf_ringbuf_submit(e, 0);
  return 0;
}
// Which spec id __bpf_usdt_ip_to_spec_id gives this probe address, next to the cookie's.
SEC("usdt") int BPF_USDT(on_ip, long x) {
  long ip = PT_REGS_IP(ctx);
  __u32 *id = bpf_map_lookup_elem(&__bpf_usdt_ip_to_spec_id, &ip);
  struct event *e = start(ctx, 4);
  if (!e) return 0;
  e->a[0] = id ? *id : -1; e->a[1] = bpf_get_attach_cookie(ctx); e->a[2] = x;
  bpf_ringbuf_submit(e, 0);
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

// Waits for a line on stdin (the test attaches meanwhile), then fires a probe at two sites.
const WAITER_C = `#include <stdio.h>
#include <sys/sdt.h>
int main(void) {
  char line[8];
  if (!fgets(line, sizeof(line), stdin)) return 1;
  volatile long v = 7;
  STAP_PROBE1(tsbpf_test, ip, v);
  STAP_PROBE1(tsbpf_test, ip, 8);
  return 0;
}
`;

interface Event {
  tag: number;
  count: number;
  cookie: bigint;
  a: bigint[];
  str: string;
}

function drain(c: Collection): Event[] {
  const out: Event[] = [];
  using ring = new RingBufferReader(c.maps.events!);
  ring.consume((r) => {
    const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
    const a = Array.from({ length: 6 }, (_, i) => v.getBigInt64(24 + i * 8, true));
    const str = new TextDecoder().decode(r.subarray(72, 88)).replace(/\0.*$/s, '');
    out.push({ tag: Number(v.getBigInt64(0, true)), count: Number(v.getBigInt64(8, true)), cookie: v.getBigInt64(16, true), a, str });
  });
  return out;
}

describeNeeds(
  [isRoot(), hasCommand('cc'), hasCommand('clang'), hasFile('/sys/bus/event_source/devices/uprobe/type'), hasFile('/usr/include/x86_64-linux-gnu/sys/sdt.h')],
  'USDT (libbpf usdt.bpf.h programs on <sys/sdt.h> probes)',
  () => {
    const binaries: Record<string, string> = {};
    let object: Uint8Array;
    beforeAll(async () => {
      writeFileSync(join(work, 'target.c'), TARGET_C);
      writeFileSync(join(work, 'gated.c'), GATED_C);
      for (const opt of ['-O0', '-O2']) {
        binaries[opt] = join(work, `target${opt}`);
        execFileSync('cc', [opt, '-o', binaries[opt]!, join(work, 'target.c'), join(work, 'gated.c')]);
      }
      writeFileSync(join(work, 'waiter.c'), WAITER_C);
      for (const pie of ['-pie', '-no-pie']) execFileSync('cc', ['-O2', pie, '-o', join(work, `waiter${pie}`), join(work, 'waiter.c')]);
      writeFileSync(join(work, 'usdt.bpf.c'), PROGRAM_C);
      object = (await compile({ source: join(work, 'usdt.bpf.c'), cache: false })).object;
    });

    it('lists the probes of the test binary, with semaphores and argument specs that parse', () => {
      for (const bin of Object.values(binaries)) {
        const notes = readUsdtProbes(bin);
        expect(notes.map((n) => `${n.provider}:${n.name}`).sort()).toEqual([
          'tsbpf_test:args',
          'tsbpf_test:consts',
          'tsbpf_test:gated',
          'tsbpf_test:mem',
          'tsbpf_test:twice',
          'tsbpf_test:twice',
        ]);
        const gated = notes.find((n) => n.name === 'gated')!;
        expect(gated.semaphoreAddress).toBeGreaterThan(0);
        expect(gated.semaphoreOffset).toBeGreaterThan(0);
        expect(notes.filter((n) => n.name !== 'gated').every((n) => n.semaphoreAddress === 0)).toBe(true);
        for (const n of notes) expect(parseUsdtArgs(n.args, 'x86_64').length).toBe({ args: 6, consts: 2, gated: 1, mem: 2, twice: 1 }[n.name]);
        expect(notes.find((n) => n.name === 'consts')!.args).toMatch(/@\$42 .*@\$-7/);
      }
      // -O2 reads the struct fields in place: memory at a register, with and without an offset (the deref path).
      expect(readUsdtProbes(binaries['-O2']!).find((n) => n.name === 'mem')!.args).toMatch(/^-4@\(%\w+\) -8@8\(%\w+\)$/);
    });

    for (const opt of ['-O0', '-O2']) {
      it(`reads every argument's value as libbpf would (${opt}), with the cookie, and stops when detached`, () => {
        const bin = binaries[opt]!;
        using c = loadCollection(parseCollectionSpec(object));
        {
          using _args = attachUsdt(c.programs.on_args!, bin, 'tsbpf_test', 'args', { cookie: 0xc0ffeen });
          using _consts = attachUsdt(c.programs.on_consts!, bin, 'tsbpf_test', 'consts');
          using _mem = attachUsdt(c.programs.on_consts!, bin, 'tsbpf_test', 'mem', { cookie: 5n });
          using twice = attachUsdt(c.programs.on_one!, bin, 'tsbpf_test', 'twice', { cookie: 2n });
          expect(twice.sites.length).toBe(2);
          expect(execFileSync(bin, { encoding: 'utf8' })).toBe('semaphore 0\n');
        }
        const events = drain(c);
        const args = events.filter((e) => e.tag === 1);
        expect(args).toHaveLength(1);
        expect(args[0]!.count).toBe(6);
        expect(args[0]!.cookie).toBe(0xc0ffeen);
        expect(args[0]!.a.slice(0, 5)).toEqual([-5n, -1234n, -123456789n, -1234567890123n, 4000000000n]);
        expect(args[0]!.a[5]).not.toBe(0n);
        expect(args[0]!.str).toBe('hello usdt');
        const consts = events.filter((e) => e.tag === 2);
        expect(consts.map((e) => [e.count, e.cookie, e.a[0], e.a[1]])).toEqual([
          [2, 5n, -11n, 1n << 40n],
          [2, 0n, 42n, -7n],
        ]);
        // -123456789 & 0xff = 0xeb
        expect(events.filter((e) => e.tag === 3).map((e) => [e.cookie, e.a[0]])).toEqual([
          [2n, 1n],
          [2n, 0xebn],
        ]);
        execFileSync(bin); // detached: nothing more
        expect(drain(c)).toEqual([]);
      });
    }

    it('raises a semaphore while attached: the gated probe fires only then', () => {
      const bin = binaries['-O2']!;
      const fdsBefore = readdirSync('/proc/self/fd').length;
      using c = loadCollection(parseCollectionSpec(object));
      expect(execFileSync(bin, { encoding: 'utf8' })).toBe('semaphore 0\n');
      {
        using _ = attachUsdt(c.programs.on_one!, bin, 'tsbpf_test', 'gated', { cookie: 3n });
        expect(execFileSync(bin, { encoding: 'utf8' })).toBe('semaphore 1\n');
      }
      expect(drain(c).map((e) => [e.tag, e.cookie, e.a[0]])).toEqual([[3, 3n, 99n]]);
      expect(execFileSync(bin, { encoding: 'utf8' })).toBe('semaphore 0\n');
      expect(drain(c)).toEqual([]);
      c.close();
      expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore); // the uprobes' perf events and links are closed
    });

    it('refuses a probe the binary lacks, a program without the spec maps, and bad arguments, with typed errors', async () => {
      const bin = binaries['-O2']!;
      using c = loadCollection(parseCollectionSpec(object));
      expect(() => attachUsdt(c.programs.on_one!, bin, 'tsbpf_test', 'nope')).toThrow(
        expect.objectContaining({ code: 'ATTACH_TARGET', message: expect.stringMatching(/no USDT probe tsbpf_test:nope .*tsbpf_test:args/) }),
      );
      expect(() => attachUsdt(c.programs.on_one!, bin, 'tsbpf_test', 'twice', { cookie: -1n })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => attachUsdt(c.programs.on_one!, join(work, 'missing'), 'p', 'n')).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET' }));
      writeFileSync(
        join(work, 'plain.bpf.c'),
        '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("usdt") int plain(void *ctx) { return 0; }\nchar LICENSE[] SEC("license") = "GPL";\n',
      );
      const plain = (await compile({ source: join(work, 'plain.bpf.c'), cache: false })).object;
      using p = loadCollection(parseCollectionSpec(plain));
      expect(() => attachUsdt(p.programs.plain!, bin, 'tsbpf_test', 'twice')).toThrow(
        expect.objectContaining({ code: 'ATTACH_TARGET', message: expect.stringMatching(/__bpf_usdt_specs/) }),
      );
      const a = attachUsdt(c.programs.on_one!, bin, 'tsbpf_test', 'twice');
      expect(a.sites.length).toBe(2);
      expect(a.fds).toHaveLength(2);
      a.close();
      expect(() => a.fds).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    });

    for (const pie of ['-no-pie', '-pie']) {
      it(`fills __bpf_usdt_ip_to_spec_id with each site's address (${pie === '-pie' ? 'a PIE: from the process maps' : 'a fixed-address executable'}), the ids the cookies carry`, async () => {
        const bin = join(work, `waiter${pie}`);
        using c = loadCollection(parseCollectionSpec(object));
        const child = spawn(bin, { stdio: ['pipe', 'ignore', 'ignore'] });
        const exited = once(child, 'exit');
        try {
          await once(child, 'spawn');
          // the child blocks in fgets: its maps are final (exec is done when spawn fires)
          // the PIE by its pid (its /proc/PID/exe, that process only), the other by path and pid
          using a =
            pie === '-pie'
              ? attachUsdt(c.programs.on_ip!, child.pid!, 'tsbpf_test', 'ip', { fillIpMap: true })
              : attachUsdt(c.programs.on_ip!, bin, 'tsbpf_test', 'ip', { pid: child.pid, fillIpMap: true });
          expect(a.sites.length).toBe(2);
          expect([...c.maps.__bpf_usdt_ip_to_spec_id!.keys()]).toHaveLength(2);
          child.stdin.end('go\n');
          expect((await exited)[0]).toBe(0);
        } finally {
          child.kill();
        }
        expect([...c.maps.__bpf_usdt_ip_to_spec_id!.keys()]).toEqual([]); // closing took the addresses back
        const seen = drain(c).map((e) => [e.tag, e.a[0], e.a[1], e.a[2]]);
        expect(seen).toHaveLength(2);
        // each site's ip maps to the spec id its cookie carries; the two sites' specs differ (a register, a constant)
        for (const [tag, byIp, byCookie] of seen) expect([tag, byIp]).toEqual([4, byCookie]);
        expect(seen.map((e) => e[3])).toEqual([7n, 8n]);
        expect(seen[0]![1]).not.toBe(seen[1]![1]);
      });
    }

    it('reads SEC("usdt/<path>:<provider>:<name>") as libbpf does, and attaches by it', async () => {
      expect(parseUsdtSection('usdt')).toBeUndefined();
      expect(parseUsdtSection('usdt/usr/lib/libc.so.6:libc:setjmp')).toEqual({ path: 'usr/lib/libc.so.6', provider: 'libc', name: 'setjmp' });
      expect(parseUsdtSection('usdt//a:b/c:prov:name')).toEqual({ path: '/a:b/c', provider: 'prov', name: 'name' });
      expect(parseUsdtSection('usdt.s//bin/x:p:n')).toEqual({ path: '/bin/x', provider: 'p', name: 'n' });
      expect(() => parseUsdtSection('usdt//bin/x:p')).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET' }));
      const bin = binaries['-O2']!;
      writeFileSync(
        join(work, 'section.bpf.c'),
        PROGRAM_C.replace(/SEC\("usdt"\) int BPF_USDT\(on_one,/, `SEC("usdt/${bin}:tsbpf_test:twice") int BPF_USDT(on_one,`),
      );
      const withSection = parseCollectionSpec((await compile({ source: join(work, 'section.bpf.c'), cache: false })).object);
      const section = withSection.programs.on_one!.sectionName;
      expect(section).toBe(`usdt/${bin}:tsbpf_test:twice`);
      using c = loadCollection(withSection);
      {
        using _ = attachUsdtSection(c.programs.on_one!, section, { cookie: 9n });
        execFileSync(bin);
      }
      expect(drain(c).map((e) => [e.tag, e.cookie, e.a[0]])).toEqual([
        [3, 9n, 1n],
        [3, 9n, 0xebn],
      ]);
      expect(() => attachUsdtSection(c.programs.on_args!, 'usdt')).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET' }));
      // attach() by section returns one Link: it points USDT programs at attachUsdtSection
      expect(() => attach(c.programs.on_one!, withSection.programs.on_one!)).toThrow(
        expect.objectContaining({ code: 'ATTACH_TARGET', message: expect.stringMatching(/attachUsdtSection/) }),
      );
    });

    it('attaches to a probe in a shared library, found by its bare name through LD_LIBRARY_PATH', () => {
      writeFileSync(join(work, 'lib.c'), '#include <sys/sdt.h>\nvoid tsbpf_lib_hello(long x) { STAP_PROBE1(tsbpf_lib, hello, x); }\n');
      writeFileSync(join(work, 'uselib.c'), 'void tsbpf_lib_hello(long x);\nint main(void) { tsbpf_lib_hello(-42); tsbpf_lib_hello(43); return 0; }\n');
      execFileSync('cc', ['-O2', '-shared', '-fPIC', '-o', join(work, 'libtsbpf_usdt.so'), join(work, 'lib.c')]);
      execFileSync('cc', ['-O2', '-o', join(work, 'uselib'), join(work, 'uselib.c'), `-L${work}`, '-ltsbpf_usdt', `-Wl,-rpath,${work}`]);
      using c = loadCollection(parseCollectionSpec(object));
      const saved = process.env.LD_LIBRARY_PATH;
      process.env.LD_LIBRARY_PATH = work;
      try {
        using a = attachUsdt(c.programs.on_one!, 'libtsbpf_usdt.so', 'tsbpf_lib', 'hello', { cookie: 6n });
        expect(a.description).toContain(join(work, 'libtsbpf_usdt.so'));
        execFileSync(join(work, 'uselib'));
      } finally {
        if (saved === undefined) delete process.env.LD_LIBRARY_PATH;
        else process.env.LD_LIBRARY_PATH = saved;
      }
      expect(drain(c).map((e) => [e.tag, e.cookie, e.a[0]])).toEqual([
        [3, 6n, -42n],
        [3, 6n, 43n],
      ]);
    });

    it('says whether the running node binary has USDT probes', () => {
      const notes = parseUsdtNotes(readFileSync(process.execPath)).notes;
      // Node's official builds have none (DTrace probes are off on Linux); a distribution build may: list them then.
      for (const n of notes) expect(() => parseUsdtArgs(n.args, 'x86_64')).not.toThrow();
      console.log(
        `${process.execPath}: ${notes.length} USDT probes${notes.length ? `: ${[...new Set(notes.map((n) => `${n.provider}:${n.name}`))].join(', ')}` : ''}`,
      );
    });
  },
);
