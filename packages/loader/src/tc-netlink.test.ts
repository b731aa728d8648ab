// Classic tc (clsact + cls_bpf) and XDP through netlink, forced on this
// kernel, with real pings between two namespaces the test makes, and what
// the kernel then reports compared with `tc filter show` and `ip -d link`.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttachType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { Link } from './link.js';
import { attachTcAny, attachXdpAny, tcxSupported } from './net-attach-any.js';
import { withNetns } from './netns.js';
import { Program } from './program.js';
import { SyscallError } from './sys/errors.js';
import { decodeAttrs, decodeError, decodeMessages, encodeRequest, stringAttr, tcmsg, u32Attr } from './sys/netlink-codec.js';
import { TcFilter, attachTc, createClsact } from './tc-netlink.js';
import { XdpNetlinkAttachment, attachXdpNetlink } from './xdp-netlink.js';
import { describeNeeds, hasCommand, hasFile, isRoot, repoRoot } from '../../../test/support/env.js';
import { vethPair, type VethPair } from '../../../test/support/netns.js';

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const XDP_DROP = 1;
const XDP_PASS = 2;

const load = (name: string, type: number, attachType: number, verdict: number) =>
  Program.load({
    type,
    expectedAttachType: attachType,
    name,
    license: 'GPL',
    instructions: encodeInstructions([asm.mov64Imm(0, verdict), asm.exit()], 'little'),
  });
const tcProg = (name: string, verdict: number) => load(name, ProgramType.sched_cls, AttachType.tcx_ingress, verdict);
const xdpProg = (name: string, verdict: number) => load(name, ProgramType.xdp, AttachType.xdp, verdict);

/** 0 when a reply came back: after a drop the neighbour entry may need a second ARP round, so up to 3 tries. */
const ping = (pair: VethPair) => pair.exec('a', ['ping', '-c', '3', '-i', '0.3', '-W', '1', pair.b.addr]);
/** 0 when a single echo came back at once: used to show that packets are dropped. */
const ping1 = (pair: VethPair) => pair.exec('a', ['ping', '-c', '1', '-W', '1', pair.b.addr]);
const inB = (pair: VethPair, cmd: string[]) => execFileSync('ip', ['netns', 'exec', pair.b.ns, ...cmd], { encoding: 'utf8' });
const tcShow = (pair: VethPair, direction: string) => inB(pair, ['tc', 'filter', 'show', 'dev', pair.b.dev, direction]);
const linkShow = (pair: VethPair) => inB(pair, ['ip', '-d', 'link', 'show', 'dev', pair.b.dev]);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('netlink codec', () => {
  it('lays out a request as iproute2 does: header, tcmsg, attributes padded to 4, nested with NLA_F_NESTED', () => {
    const bytes = encodeRequest(44, 0x401, 7, tcmsg(3, 1, 0xfffffff2, 0x10300), [stringAttr(1, 'bpf'), { type: 2, value: [u32Attr(6, 9)] }]);
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(0, true)).toBe(bytes.length);
    expect(bytes.length).toBe(16 + 20 + 8 + 12);
    expect([v.getUint16(4, true), v.getUint16(6, true), v.getUint32(8, true)]).toEqual([44, 0x401, 7]);
    expect([v.getInt32(20, true), v.getUint32(24, true), v.getUint32(28, true), v.getUint32(32, true)]).toEqual([3, 1, 0xfffffff2, 0x10300]);
    expect([v.getUint16(36, true), v.getUint16(38, true)]).toEqual([8, 1]);
    expect(new TextDecoder().decode(bytes.subarray(40, 43))).toBe('bpf');
    expect([v.getUint16(44, true), v.getUint16(46, true), v.getUint16(48, true), v.getUint16(50, true), v.getUint32(52, true)]).toEqual([12, 0x8002, 8, 6, 9]);
  });

  it('reads an error with its extended-ack text (capped ack), and an ack', () => {
    const msg = stringAttr(1, 'Cannot find device');
    const tlvLen = 4 + msg.value.length;
    const len = 16 + 4 + 16 + ((tlvLen + 3) & ~3);
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    v.setUint32(0, len, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 0x300, true); // capped, with TLVs
    v.setUint32(8, 5, true);
    v.setInt32(16, -19, true);
    v.setUint32(20, 40, true); // the request's length (its payload is not echoed)
    v.setUint16(36, tlvLen, true);
    v.setUint16(38, 1, true);
    b.set(msg.value as Uint8Array, 40);
    const [m] = decodeMessages(b);
    expect(m!.seq).toBe(5);
    expect(decodeError(m!)).toEqual({ errno: 19, message: 'Cannot find device' });
    const ack = new Uint8Array(36);
    new DataView(ack.buffer).setUint32(0, 36, true);
    new DataView(ack.buffer).setUint16(4, 2, true);
    expect(decodeError(decodeMessages(ack)[0]!)).toEqual({ errno: 0 });
    expect(decodeMessages(b.subarray(0, len - 1))).toEqual([]); // truncated: nothing, never garbage
  });
  it('any bytes from the socket decode to messages within them, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 0xffff }), (bytes, flags) => {
        for (const m of decodeMessages(bytes)) {
          expect(m.payload.length).toBeLessThanOrEqual(bytes.length);
          const e = decodeError({ ...m, flags });
          expect(Number.isInteger(e.errno) && e.errno >= 0).toBe(true);
        }
        for (const a of decodeAttrs(bytes)) expect(a.value.length).toBeLessThanOrEqual(bytes.length);
      }),
    );
  });

  it('what encodeRequest writes, decodeMessages and decodeAttrs read back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 0xffff }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 0x7fff }), fc.uint8Array({ maxLength: 20 })), { maxLength: 6 }),
        (type, raw) => {
          const attrs = raw.map(([t, value]) => ({ type: t, value }));
          const [m, ...rest] = decodeMessages(encodeRequest(type, 1, 9, tcmsg(1, 2, 3, 4), attrs));
          expect(rest).toEqual([]);
          expect([m!.type, m!.seq]).toEqual([type, 9]);
          expect(decodeAttrs(m!.payload.subarray(20))).toEqual(attrs);
        },
      ),
    );
  });
});

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('tc'), hasCommand('ping')], 'classic tc and XDP through netlink, with real packets', () => {
  it('a cls_bpf drop filter stops pings until it is deleted; tc filter show lists it as set, then nothing', () => {
    using pair = vethPair('nltc');
    const ifindex = pair.ifindex('b');
    using drop = tcProg('nl_tc_drop', TC_ACT_SHOT);
    expect(ping(pair)).toBe(0);
    const filter = withNetns(pair.b.path, () => attachTc(drop, ifindex, 'ingress', { priority: 7, handle: 0x2a }));
    try {
      expect(ping1(pair)).not.toBe(0);
      const shown = tcShow(pair, 'ingress');
      expect(shown).toMatch(/pref 7 bpf/);
      expect(shown).toMatch(/handle 0x2a nl_tc_drop direct-action/);
      expect(shown).toMatch(new RegExp(`id ${drop.id()} name nl_tc_drop`));
      expect(tcShow(pair, 'egress')).toBe('');
      // The same priority and handle again, without replace: the kernel refuses.
      const e = thrown(() => withNetns(pair.b.path, () => attachTc(drop, ifindex, 'ingress', { priority: 7, handle: 0x2a }).close()));
      expect(e).toBeInstanceOf(SyscallError);
      expect((e as SyscallError).errnoName).toBe('EEXIST');
    } finally {
      filter.close();
    }
    expect(tcShow(pair, 'ingress')).toBe('');
    expect(ping(pair)).toBe(0);
    expect(() => filter.update(drop)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    filter.close(); // twice: nothing
  });

  it('replace swaps the program of a filter: update(), and attachTc with replace', () => {
    using pair = vethPair('nltr');
    const ifindex = pair.ifindex('b');
    using pass = tcProg('nl_tc_pass', TC_ACT_OK);
    using drop = tcProg('nl_tc_drop2', TC_ACT_SHOT);
    using filter = withNetns(pair.b.path, () => attachTc(pass, ifindex, 'egress', { priority: 3, handle: 5 }));
    expect(ping(pair)).toBe(0);
    filter.update(drop);
    expect(ping1(pair)).not.toBe(0);
    expect(tcShow(pair, 'egress')).toMatch(new RegExp(`pref 3 bpf .*handle 0x5 nl_tc_drop2 direct-action[^]*id ${drop.id()}`));
    using again = withNetns(pair.b.path, () => attachTc(pass, ifindex, 'egress', { priority: 3, handle: 5, replace: true }));
    expect(ping(pair)).toBe(0);
    expect(tcShow(pair, 'egress')).toMatch(new RegExp(`id ${pass.id()} name nl_tc_pass`));
    expect(tcShow(pair, 'egress').match(/^filter .*handle/gm)).toHaveLength(1);
    withNetns(pair.b.path, () => createClsact(ifindex)); // idempotent: the filter stays
    expect(tcShow(pair, 'egress')).toMatch(/nl_tc_pass/);
    // Someone removes the qdisc with its filters: closing what is already gone is no error.
    inB(pair, ['tc', 'qdisc', 'del', 'dev', pair.b.dev, 'clsact']);
    expect(tcShow(pair, 'egress')).toBe('');
    again.close();
    filter.close();
  });

  it('XDP through netlink in skb mode drops, then passes after detach; ip -d link shows the id and mode', () => {
    using pair = vethPair('nlxdp');
    const ifindex = pair.ifindex('b');
    using drop = xdpProg('nl_xdp_drop', XDP_DROP);
    expect(ping(pair)).toBe(0);
    const att = withNetns(pair.b.path, () => attachXdpNetlink(drop, ifindex, { mode: 'generic' }));
    try {
      expect(ping1(pair)).not.toBe(0);
      const shown = linkShow(pair);
      expect(shown).toMatch(/xdpgeneric/);
      expect(shown).toMatch(new RegExp(`prog/xdp id ${drop.id()}`));
    } finally {
      att.close();
    }
    expect(linkShow(pair)).not.toMatch(/xdpgeneric|prog\/xdp/);
    expect(ping(pair)).toBe(0);
  });

  it('XDP through netlink in driver mode on a veth (which has native XDP): drops, ip -d link shows native xdp', () => {
    using pair = vethPair('nlxdrv');
    const ifindex = pair.ifindex('b');
    using drop = xdpProg('nl_xdp_drv', XDP_DROP);
    expect(ping(pair)).toBe(0);
    {
      using _att = withNetns(pair.b.path, () => attachXdpNetlink(drop, ifindex, { mode: 'driver' }));
      expect(ping1(pair)).not.toBe(0);
      const shown = linkShow(pair);
      expect(shown).toMatch(new RegExp(`\\bxdp\\b[^]*prog/xdp id ${drop.id()}`));
      expect(shown).not.toMatch(/xdpgeneric/);
    }
    expect(linkShow(pair)).not.toMatch(/prog\/xdp/);
    expect(ping(pair)).toBe(0);
  });

  it('XDP replace: a stale expected program is refused with the kernel message; the right one swaps; ifNotExists refuses a second', () => {
    using pair = vethPair('nlxr');
    const ifindex = pair.ifindex('b');
    using pass = xdpProg('nl_xdp_pass', XDP_PASS);
    using drop = xdpProg('nl_xdp_drop2', XDP_DROP);
    using att = withNetns(pair.b.path, () => attachXdpNetlink(pass, ifindex, { mode: 'generic' }));
    expect(ping(pair)).toBe(0);
    const stale = thrown(() => withNetns(pair.b.path, () => attachXdpNetlink(pass, ifindex, { mode: 'generic', expected: drop }).close()));
    expect(stale).toBeInstanceOf(SyscallError);
    expect((stale as SyscallError).syscall).toBe('RTM_SETLINK');
    expect((stale as SyscallError).errnoName).toBe('EEXIST');
    expect((stale as SyscallError).message).toMatch(/does not match expected/);
    const busy = thrown(() => withNetns(pair.b.path, () => attachXdpNetlink(drop, ifindex, { mode: 'generic', ifNotExists: true }).close()));
    expect((busy as SyscallError).errnoName).toBe('EBUSY');
    expect((busy as SyscallError).message).toMatch(/already attached/);
    expect(linkShow(pair)).toMatch(new RegExp(`prog/xdp id ${pass.id()}`));
    att.update(drop);
    expect(ping1(pair)).not.toBe(0);
    expect(linkShow(pair)).toMatch(new RegExp(`prog/xdp id ${drop.id()}`));
    att.close();
    expect(ping(pair)).toBe(0);
    expect(() => att.update(pass)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('no such device is a typed SyscallError named after the netlink request', () => {
    using pair = vethPair('nlnd');
    using drop = tcProg('nl_tc_nodev', TC_ACT_SHOT);
    using xdp = xdpProg('nl_xdp_nodev', XDP_DROP);
    const tc = thrown(() => withNetns(pair.b.path, () => attachTc(drop, 99999, 'ingress')));
    expect(tc).toBeInstanceOf(SyscallError);
    expect(tc).toMatchObject({ code: 'SYSCALL_FAILED', syscall: 'RTM_NEWQDISC', errnoName: 'ENODEV' });
    // This kernel sends no text for a missing device: the message says what ENODEV means here, and where.
    expect((tc as SyscallError).message).toMatch(/ENODEV \(no interface with that index in this network namespace\)/);
    expect((tc as SyscallError).message).toMatch(/ifindex 99999/);
    const x = thrown(() => withNetns(pair.b.path, () => attachXdpNetlink(xdp, 99999, { mode: 'generic' })));
    expect(x).toMatchObject({ code: 'SYSCALL_FAILED', syscall: 'RTM_SETLINK', errnoName: 'ENODEV' });
    const ifindex = pair.ifindex('b');
    const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    withNetns(pair.b.path, () => {
      expect(() => attachTc(drop, ifindex, 'sideways' as 'ingress')).toThrow(invalid);
      expect(() => attachTc(drop, ifindex, 'ingress', { priority: 0x10000 })).toThrow(invalid);
      expect(() => attachTc(drop, ifindex, 'ingress', { handle: 0 })).toThrow(invalid);
      expect(() => attachTc(drop, -1, 'ingress')).toThrow(invalid);
      expect(() => attachXdpNetlink(xdp, 1.5)).toThrow(invalid);
      expect(() => attachTc(xdp, ifindex, 'ingress')).toThrow(invalid);
      expect(() => attachXdpNetlink(xdp, ifindex, { mode: 'sideways' as 'generic' })).toThrow(invalid);
    });
    expect(tcShow(pair, 'ingress')).toBe('');
  });

  it('attachTcAny / attachXdpAny: the link where the kernel has it, netlink when asked', () => {
    using pair = vethPair('nlany');
    const ifindex = pair.ifindex('b');
    using drop = tcProg('nl_any_drop', TC_ACT_SHOT);
    using xdrop = xdpProg('nl_any_xdrop', XDP_DROP);
    {
      using viaNetlink = withNetns(pair.b.path, () => attachTcAny(drop, ifindex, 'ingress', { via: 'netlink', priority: 2 }));
      expect(viaNetlink).toBeInstanceOf(TcFilter);
      expect(ping1(pair)).not.toBe(0);
      expect(tcShow(pair, 'ingress')).toMatch(/pref 2 bpf/);
    }
    expect(ping(pair)).toBe(0);
    {
      using auto = withNetns(pair.b.path, () => attachTcAny(drop, ifindex, 'ingress'));
      expect(auto instanceof Link).toBe(tcxSupported());
      expect(ping1(pair)).not.toBe(0);
    }
    {
      using x = withNetns(pair.b.path, () => attachXdpAny(xdrop, ifindex, { mode: 'generic', via: 'netlink' }));
      expect(x).toBeInstanceOf(XdpNetlinkAttachment);
      expect(ping1(pair)).not.toBe(0);
    }
    expect(ping(pair)).toBe(0);
    const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    expect(() => attachTcAny(drop, ifindex, 'ingress', { via: 'pigeon' as 'auto' })).toThrow(invalid);
    // What the chosen path cannot do is refused, not dropped: a priority for tcx, a placement for classic tc.
    withNetns(pair.b.path, () => {
      expect(() => attachTcAny(drop, ifindex, 'ingress', { via: 'link', priority: 3 })).toThrow(/priority cannot be honoured through tcx/);
      expect(() => attachTcAny(drop, ifindex, 'ingress', { via: 'netlink', first: true })).toThrow(/first cannot be honoured through netlink/);
    });
    expect(tcShow(pair, 'ingress')).toBe('');
  });
});

const dist = (pkg: string) => pathToFileURL(join(repoRoot, 'packages', pkg, 'dist/index.js')).href;

/** Run inside a namespace from the built package: attaches through netlink and exits without closing. */
const CHILD = `
import { Program, attachTcAny, attachXdpAny } from '${dist('loader')}';
import { AttachType, ProgramType, asm, encodeInstructions } from '${dist('object')}';
const ifindex = Number(process.argv[1]);
const load = (name, type, attachType, verdict) =>
  Program.load({ type, expectedAttachType: attachType, name, license: 'GPL', instructions: encodeInstructions([asm.mov64Imm(0, verdict), asm.exit()], 'little') });
const tc = load('nl_child_tc', ProgramType.sched_cls, AttachType.tcx_ingress, 2);
const xdp = load('nl_child_xdp', ProgramType.xdp, AttachType.xdp, 1);
const filter = attachTcAny(tc, ifindex, 'egress', { via: 'netlink', priority: 9, handle: 9 });
const att = attachXdpAny(xdp, ifindex, { mode: 'generic', via: 'netlink' });
console.log(JSON.stringify({ tc: tc.id(), xdp: xdp.id(), filter: filter.description, att: att.description }));
`;

describeNeeds(
  [isRoot(), hasCommand('ip'), hasCommand('tc'), hasCommand('ping'), hasFile(join(repoRoot, 'packages/loader/dist/index.js'))],
  'netlink attachments from the built package, in a namespace',
  () => {
    it('a filter and an XDP program attached through netlink outlive their process (unlike links) until deleted', () => {
      using pair = vethPair('nlchild');
      const ifindex = pair.ifindex('b');
      expect(ping(pair)).toBe(0);
      const out = execFileSync('ip', ['netns', 'exec', pair.b.ns, process.execPath, '--input-type=module', '-e', CHILD, String(ifindex)], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      const child = JSON.parse(out.trim()) as { tc: number; xdp: number; filter: string; att: string };
      expect(child.filter).toBe(`tc/egress ifindex ${ifindex} pref 9 handle 0x9`);
      expect(child.att).toBe(`xdp/generic ifindex ${ifindex} (netlink)`);
      // The process is gone; its programs still run: the kernel holds them on the interface.
      expect(tcShow(pair, 'egress')).toMatch(new RegExp(`pref 9 bpf .*handle 0x9 nl_child_tc direct-action[^]*id ${child.tc} `));
      expect(linkShow(pair)).toMatch(new RegExp(`prog/xdp id ${child.xdp} `));
      expect(ping1(pair)).not.toBe(0);
      inB(pair, ['ip', 'link', 'set', 'dev', pair.b.dev, 'xdpgeneric', 'off']);
      inB(pair, ['tc', 'filter', 'del', 'dev', pair.b.dev, 'egress', 'pref', '9']);
      expect(tcShow(pair, 'egress')).toBe('');
      expect(ping(pair)).toBe(0);
    });
  },
);
