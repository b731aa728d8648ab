/** The running kernel's configuration and version, and the `.kconfig` map value they give an object's externs. */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { KconfigLayout } from '@tsbpf/object';
import { LoaderError } from './errors.js';
import { hasBpfCookie, hasSyscallWrapper } from './kernel-features.js';

/**
 * The running kernel's build configuration, as libbpf finds it:
 * /proc/config.gz, else /boot/config-$(uname -r). `CONFIG_X=y|m|"text"|42`;
 * `# CONFIG_X is not set` is `n`.
 */
export function readKernelConfig(): Map<string, string> {
  let text: string | undefined;
  try {
    text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    try {
      text = readFileSync(`/boot/config-${release()}`, 'utf8');
    } catch {
      text = undefined;
    }
  }
  const config = new Map<string, string>();
  for (const line of (text ?? '').split('\n')) {
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (set) config.set(set[1]!, set[2]!);
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) config.set(unset[1]!, 'n');
  }
  return config;
}

/** LINUX_KERNEL_VERSION: KERNEL_VERSION(a, b, min(c, 255)) of `uname -r`. */
export function kernelVersionCode(rel = release()): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

/** libbpf's computed `__kconfig` externs: their values come from the running kernel, not its configuration. */
const VIRTUAL: Record<string, () => string> = {
  LINUX_KERNEL_VERSION: () => String(kernelVersionCode()),
  LINUX_HAS_BPF_COOKIE: () => (hasBpfCookie() ? 'y' : 'n'),
  LINUX_HAS_SYSCALL_WRAPPER: () => (hasSyscallWrapper() ? 'y' : 'n'),
};

/** The `.kconfig` map's value: each extern encoded at its slot, as libbpf would. */
export function kconfigValue(layout: KconfigLayout, config: Map<string, string> = readKernelConfig()): Uint8Array {
  const out = new Uint8Array(layout.size);
  const view = new DataView(out.buffer);
  for (const slot of layout.slots) {
    let raw: string | undefined;
    if (slot.name.startsWith('CONFIG_')) {
      raw = config.get(slot.name);
      if (raw === undefined) {
        if (slot.weak) continue; // weak and unknown: zero, as libbpf leaves it
        throw new LoaderError('KCONFIG_UNKNOWN', "this kernel's configuration does not say").addContext(`extern ${slot.name} (__kconfig)`);
      }
    } else {
      // libbpf's virtual externs: computed, never read from the configuration.
      const virtual = VIRTUAL[slot.name];
      if (virtual) raw = virtual();
      else if (slot.name.startsWith('LINUX_') && slot.weak)
        continue; // unknown but weak: zero, as libbpf
      else {
        throw new LoaderError(
          'KCONFIG_UNKNOWN',
          `not a CONFIG_ option, and not one of the values libbpf computes (${Object.keys(VIRTUAL).join(', ')})`,
        ).addContext(`extern ${slot.name} (__kconfig)`);
      }
    }
    const fail = () => new LoaderError('KCONFIG_VALUE', `cannot store ${JSON.stringify(raw)} as ${slot.type}`).addContext(`extern ${slot.name}`);
    switch (slot.type) {
      case 'bool':
      case 'tristate':
      case 'char': {
        const v = raw === 'y' ? 1 : raw === 'm' ? (slot.type === 'bool' ? NaN : 2) : raw === 'n' ? 0 : NaN;
        if (slot.type === 'char' && Number.isNaN(v)) {
          if (raw.length !== 1) throw fail();
          out[slot.offset] = raw.charCodeAt(0);
        } else {
          if (Number.isNaN(v)) throw fail();
          if (slot.type === 'tristate') view.setUint32(slot.offset, v, true);
          else out[slot.offset] = v;
        }
        break;
      }
      case 'int': {
        let n: bigint;
        try {
          n = BigInt(raw === 'y' ? 1 : raw === 'n' ? 0 : raw);
        } catch {
          throw fail();
        }
        const bits = BigInt(slot.size * 8);
        const v = slot.signed ? BigInt.asIntN(Number(bits), n) : BigInt.asUintN(Number(bits), n);
        if (v !== n) throw fail();
        for (let i = 0; i < slot.size; i++) out[slot.offset + i] = Number((BigInt.asUintN(Number(bits), v) >> BigInt(i * 8)) & 0xffn);
        break;
      }
      case 'string': {
        const m = /^"(.*)"$/.exec(raw);
        if (!m) throw fail();
        const bytes = new TextEncoder().encode(m[1]!);
        out.set(bytes.subarray(0, slot.size - 1), slot.offset);
        break;
      }
    }
  }
  return out;
}
