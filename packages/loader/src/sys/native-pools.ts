/**
 * Pools of native memory over NativeBuffer: buffers grown by name and reused
 * (GrowingBuffers), buffers made all or none (allocateTogether), and the
 * scratch arena for the pointers of one synchronous call.
 */
import { LoaderError } from '../errors.js';
import { MAX_VIEW_BYTES, NativeBuffer, checkSize, type NativeMemory } from './ffi.js';

/** Native buffers by name, reused call after call and replaced by a larger one when a call needs more. */
export class GrowingBuffers {
  private readonly buffers = new Map<string, NativeBuffer>();
  private freed = false;

  /** The buffer `name`, at least `size` bytes (contents kept only while it is not replaced). */
  get(name: string, size: number): NativeBuffer {
    // Never a new buffer after free(): nothing would free it (the owner checks first; this is the backstop).
    if (this.freed) throw new LoaderError('CLOSED', 'closed');
    let b = this.buffers.get(name);
    if (!b || !(b.size >= size)) {
      const grown = new NativeBuffer(size);
      b?.free();
      b = grown;
      this.buffers.set(name, b);
    }
    return b;
  }

  free(): void {
    this.freed = true;
    for (const b of this.buffers.values()) b.free();
    this.buffers.clear();
  }
}

/**
 * NativeBuffers made together, all or none: `build` gets `make(size)`; if it
 * throws (a size too large to view, a constructor failing after some were
 * made), every buffer made so far is freed before the error goes on.
 */
export function allocateTogether<T>(build: (make: (size: number) => NativeBuffer) => T): T {
  const made: NativeBuffer[] = [];
  try {
    return build((size) => {
      const b = new NativeBuffer(size);
      made.push(b);
      return b;
    });
  } catch (e) {
    for (const b of made) b.free();
    throw e;
  }
}

/** A piece of the scratch arena, with a view of its bytes. */
export interface ScratchMemory extends NativeMemory {
  readonly bytes: Uint8Array;
}

/**
 * A ScratchMemory: the address kept as a number (what an attr field takes),
 * the bigint and the byte view made only if asked for (a load's pieces are
 * written through the arena's own view and only their addresses read).
 */
class ScratchPiece implements ScratchMemory {
  constructor(
    private readonly block: NativeBuffer,
    private readonly at: number,
    readonly addressNumber: number,
    readonly size: number,
  ) {}
  get address(): bigint {
    return BigInt(this.addressNumber);
  }
  get bytes(): Uint8Array {
    return this.block.bytes.subarray(this.at, this.at + this.size);
  }
}

const SCRATCH_SIZE = 64 * 1024;

/**
 * Native memory for the pointers of one synchronous call or sequence of calls
 * (a BTF blob, instructions, license, func and line info, a path): one calloc'd
 * arena reused by every call, where a fresh NativeBuffer per pointer costs a
 * calloc, a free and a koffi view each (a tenth of a small object's load).
 * Scopes nest: `const mark = scratch.begin()` ... `scratch.end(mark)` in a
 * finally. Memory taken inside a scope stays valid until that scope ends; a
 * request the arena cannot hold moves it to a bigger block, and the old block
 * lives until the outermost scope ends, so no address handed out is freed
 * while in use. Single-threaded by construction: JavaScript runs these calls
 * to completion.
 */
class ScratchArena {
  private block = new NativeBuffer(SCRATCH_SIZE);
  /** The block's address as a number (NativeBuffer converts its bigint at each ask). */
  private base = this.block.addressNumber;
  private used = 0;
  private depth = 0;
  private retired: NativeBuffer[] = [];

  begin(): number {
    this.depth++;
    return this.used;
  }

  end(mark: number): void {
    if (this.depth === 0) throw new LoaderError('INTERNAL', 'scratch: end() without begin()');
    this.depth--;
    this.used = mark;
    if (this.depth > 0) return;
    this.used = 0;
    if (this.retired.length > 0) {
      // Only when a block was retired: the length store is a runtime call.
      for (const b of this.retired) b.free();
      this.retired.length = 0;
    }
    if (this.block.size > 16 * SCRATCH_SIZE) {
      this.block.free();
      this.block = new NativeBuffer(SCRATCH_SIZE);
      this.base = this.block.addressNumber;
    }
  }

  /** `size` bytes, 8-aligned, not zeroed. */
  alloc(size: number): ScratchMemory {
    if (this.depth === 0) throw new LoaderError('INTERNAL', 'scratch: alloc() outside begin()/end()');
    checkSize(size);
    let at = Math.ceil(this.used / 8) * 8; // not & ~7: an arena may pass 2 GiB
    if (at + size > this.block.size) {
      this.retired.push(this.block);
      this.block = new NativeBuffer(Math.max(Math.min(2 * this.block.size, MAX_VIEW_BYTES), size + 8));
      this.base = this.block.addressNumber;
      at = 0;
    }
    this.used = at + size;
    return new ScratchPiece(this.block, at, this.base + at, size);
  }

  /** A copy of `data` followed by `extra` zero bytes (e.g. a NUL). */
  copy(data: Uint8Array, extra = 0): ScratchMemory {
    const m = this.alloc(data.length + extra);
    const at = m.addressNumber - this.base;
    this.block.bytes.set(data, at);
    if (extra > 0) this.block.bytes.fill(0, at + data.length, at + data.length + extra);
    return m;
  }

  /** A NUL-terminated UTF-8 string (ASCII written directly, anything else encoded). */
  string(s: string): ScratchMemory {
    const n = s.length;
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return this.copy(utf8.encode(s), 1);
    const m = this.alloc(n + 1);
    const bytes = this.block.bytes;
    const at = m.addressNumber - this.base;
    for (let i = 0; i < n; i++) bytes[at + i] = s.charCodeAt(i);
    bytes[at + n] = 0;
    return m;
  }

  /** `size` zeroed bytes. */
  zeroed(size: number): ScratchMemory {
    const m = this.alloc(size);
    const at = m.addressNumber - this.base;
    this.block.bytes.fill(0, at, at + size);
    return m;
  }
}

const utf8 = new TextEncoder();

/** The process's scratch arena (see ScratchArena). */
export const scratch = new ScratchArena();
