/**
 * The one file that imports koffi: the libc functions the loader calls, bound
 * once, and native memory (NativeBuffer, the scratch arena) for everything
 * whose address goes to the kernel. Everything above works with numbers,
 * bigints and typed arrays. bpf() itself is reached through sys/door.ts.
 *
 * Why native memory: V8 may keep small typed arrays inside its moving heap,
 * so an address taken from a JS buffer is not safe to hand to the kernel.
 * Memory from calloc never moves, and stays valid until freed.
 */
import { constants as bufferConstants } from 'node:buffer';
import koffi from 'koffi';
import { LoaderError } from '../errors.js';
import { SyscallError } from './errors.js';
import { setField } from './fields.js';
import { DELETE, DELETE_SIZE, LOOKUP, LOOKUP_SIZE, NEXT, NEXT_SIZE, UPDATE, UPDATE_SIZE } from './elem-commands.js';
import { epollEvent, epollEventSize } from './layouts.generated.js';
import { bpfStubCode } from './bpf-stub-code.js';

const libc = koffi.load('libc.so.6');

/** An address returned by libc, opaque to JavaScript. */
export type Pointer = unknown;

/**
 * bpf() through syscall(2), the attr passed as its address (an integer), not
 * as a `void *`: koffi then takes its fast call path (no pointer argument to
 * convert, no finalization pass for output arguments or callbacks), measured
 * 15–40 ns less per call than the `void *` form (README, Performance). The
 * address is always a NativeBuffer's (calloc'd, never moving), or 0 once it
 * is freed (the kernel then answers EFAULT).
 */
const bpfSyscallFn = libc.func('syscall', 'long', ['long', 'int', 'uintptr_t', 'unsigned int']);
const callocFn = libc.func('void *calloc(size_t n, size_t size)');
const freeFn = libc.func('void free(void *p)');
const mmapFn = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)');
const munmapFn = libc.func('int munmap(void *addr, size_t length)');
const mprotectFn = libc.func('int mprotect(void *addr, size_t len, int prot)');
const fcntlFn = libc.func('int fcntl(int fd, int cmd, int arg)');
const epollCreateFn = libc.func('int epoll_create1(int flags)');
const epollCtlFn = libc.func('int epoll_ctl(int epfd, int op, int fd, void *event)');
const epollWaitFn = libc.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)');
const sysconfFn = libc.func('long sysconf(int name)');
const perfEventOpenFn = libc.func('syscall', 'long', ['long', 'void *', 'int', 'int', 'int', 'unsigned long']);
const setnsFn = libc.func('int setns(int fd, int nstype)');
const closeFn = libc.func('int close(int fd)');
const setsockoptFn = libc.func('int setsockopt(int fd, int level, int optname, int *optval, unsigned int optlen)');
const flockFn = libc.func('int flock(int fd, int operation)');
const ioctlFn = libc.func('int ioctl(int fd, unsigned long request, unsigned long arg)');
const socketFn = libc.func('int socket(int domain, int type, int protocol)');
const bindFn = libc.func('int bind(int fd, void *addr, unsigned int len)');
const sendFn = libc.func('long send(int fd, void *buf, size_t len, int flags)');
const recvFn = libc.func('long recv(int fd, void *buf, size_t len, int flags)');

/** SYS_bpf by architecture. */
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280, riscv64: 280, loong64: 280, s390x: 351, ppc64: 361, arm: 386, ia32: 357 };
const NR_BPF = SYS_BPF[process.arch];

const NR = NR_BPF ?? -1;

/** bpf(cmd, attr, size): the result, or a negative errno. Callers go through sys/door.ts. */
export function bpf(cmd: number, attr: NativeBuffer, size: number): number {
  const r = bpfSyscallFn(NR, cmd, attr.addressNumber, size) as number;
  return r < 0 ? -koffi.errno() : r;
}

const SYS_PERF_EVENT_OPEN: Record<string, number> = { x64: 298, arm64: 241, riscv64: 241, loong64: 241, s390x: 331, ppc64: 319, arm: 364, ia32: 336 };

/** perf_event_open(attr, pid, cpu, group_fd, flags): an fd, or a negative errno. */
export function perfEventOpen(attr: NativeBuffer, pid: number, cpu: number, groupFd: number, flags: number): number {
  const nr = SYS_PERF_EVENT_OPEN[process.arch];
  if (nr === undefined) return -38;
  const r = Number(perfEventOpenFn(nr, attr.ptr, pid, cpu, groupFd, flags));
  return r < 0 ? -koffi.errno() : r;
}

/** setns(fd, nstype) for the calling thread (Node's main thread): 0 or a negative errno. */
export function setns(fd: number, nstype: number): number {
  const r = setnsFn(fd, nstype) as number;
  return r < 0 ? -koffi.errno() : 0;
}

/** A bpf() stub (sys/bpf-stub-code.ts): the attr's address in, the result or -errno out. */
type BpfStub = (address: number) => number;

/**
 * One stub a hot command, built once: their code is copied into one page
 * mapped read-write, which is then made read-execute (never both at once)
 * and never unmapped (the functions live as long as the process). Undefined
 * when this architecture has none, TSBPF_BPF_STUBS=0, or the system refuses
 * the page or its execute permission (a policy against executable memory):
 * the hot path is then syscall(2) as every other bpf() call.
 */
function buildStubs(): { lookup: BpfStub; update: BpfStub; delete: BpfStub; next: BpfStub } | undefined {
  if (process.env.TSBPF_BPF_STUBS === '0' || NR_BPF === undefined) return undefined;
  const codes = [
    [LOOKUP, LOOKUP_SIZE],
    [UPDATE, UPDATE_SIZE],
    [DELETE, DELETE_SIZE],
    [NEXT, NEXT_SIZE],
  ].map(([cmd, size]) => bpfStubCode(process.arch, NR_BPF, cmd!, size!));
  if (codes.some((c) => c === undefined)) return undefined;
  const SLOT = 32; // each stub at a 32-byte boundary; the page is zeroed between them
  const page = pageSize();
  const p = mmap(page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (typeof p === 'number') return undefined;
  const bytes = new Uint8Array(koffi.view(p, page) as ArrayBuffer);
  codes.forEach((c, i) => bytes.set(c!, i * SLOT));
  if ((mprotectFn(p, page, PROT_READ | PROT_EXEC) as number) !== 0) {
    munmapFn(p, page);
    return undefined;
  }
  const base = koffi.address(p) as bigint;
  const stubAt = (i: number): BpfStub => koffi.decode(base + BigInt(i * SLOT), BpfStubProto) as BpfStub;
  return { lookup: stubAt(0), update: stubAt(1), delete: stubAt(2), next: stubAt(3) };
}
// Anonymous: a named prototype is koffi's global name, and a second copy of this module in the process (another
// version, or the CommonJS build beside the ESM one) would throw a duplicate name when it loads.
const BpfStubProto = koffi.proto('long (uintptr_t attr)');

/**
 * bpf(cmd, attr, size) for the hot paths (map element operations), with the
 * attr's address already a number: one function for every map, so that a
 * call site sees one target whichever map it serves (a closure bound to
 * each map's attr was a new target at every new map, which deoptimized the
 * code that had inlined the last one). The four element commands go
 * through their stubs where there are some (each call site below sees one
 * function); any other command or size through syscall(2). `attr` is for a
 * fake door (door.ts). Returns the result or a negative errno.
 */
export function bpfHot(cmd: number, _attr: NativeBuffer, address: number, size: number): number {
  if (stubs !== undefined) {
    if (cmd === LOOKUP) {
      if (size === LOOKUP_SIZE) return stubs.lookup(address);
    } else if (cmd === UPDATE) {
      if (size === UPDATE_SIZE) return stubs.update(address);
    } else if (cmd === DELETE) {
      if (size === DELETE_SIZE) return stubs.delete(address);
    } else if (cmd === NEXT && size === NEXT_SIZE) return stubs.next(address);
  }
  const r = bpfSyscallFn(NR, cmd, address, size) as number;
  return r < 0 ? -koffi.errno() : r;
}

/** @internal How bpfHot reaches the kernel: `stub` (sys/bpf-stub-code.ts) or `syscall` (syscall(2)). For tests. */
export function bpfHotPath(): 'stub' | 'syscall' {
  return stubs === undefined ? 'syscall' : 'stub';
}

/** fcntl(fd, F_DUPFD_CLOEXEC, min): a new fd at least `min`, or a negative errno. */
export function dupAtLeast(fd: number, min: number): number {
  const r = fcntlFn(fd, 1030, min) as number;
  return r < 0 ? -koffi.errno() : r;
}

/** setsockopt(fd, level, name, &value, sizeof(int)): 0 or a negative errno. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): number {
  const r = setsockoptFn(fd, level, name, [value], 4) as number;
  return r < 0 ? -koffi.errno() : 0;
}

/** socket(2), bind(2), send(2) and recv(2) (for netlink): an fd, 0 or a byte count, or a negative errno. */
export function socket(domain: number, type: number, protocol: number): number {
  const r = socketFn(domain, type, protocol) as number;
  return r < 0 ? -koffi.errno() : r;
}
export function bind(fd: number, addr: NativeBuffer): number {
  return (bindFn(fd, addr.ptr, addr.size) as number) < 0 ? -koffi.errno() : 0;
}
export function send(fd: number, buf: NativeBuffer, length: number): number {
  const r = Number(sendFn(fd, buf.ptr, length, 0));
  return r < 0 ? -koffi.errno() : r;
}
export function recv(fd: number, buf: NativeBuffer): number {
  const r = Number(recvFn(fd, buf.ptr, buf.size, 0));
  return r < 0 ? -koffi.errno() : r;
}

export function closeFd(fd: number): void {
  closeFn(fd);
}

/** flock(2) operations. */
/** ioctl(fd, request, arg) with an integer argument (the perf event ioctls): 0 or more, or a negative errno. */
export function ioctlInt(fd: number, request: number, arg: number): number {
  const r = ioctlFn(fd, request, arg) as number;
  return r < 0 ? -koffi.errno() : r;
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(fd, operation): 0, or a negative errno (EWOULDBLOCK is -11 with LOCK_NB). */
export function flock(fd: number, operation: number): number {
  const r = flockFn(fd, operation) as number;
  return r < 0 ? -koffi.errno() : 0;
}

/**
 * The longest ArrayBuffer this Node makes over native memory (2^32 bytes on
 * Node 20). koffi.view past it does not throw: it aborts the process.
 */
export const MAX_VIEW_BYTES: number = bufferConstants.MAX_LENGTH;

function checkViewable(length: number): void {
  if (length > MAX_VIEW_BYTES) {
    throw new LoaderError('VIEW_TOO_LARGE', `${length} bytes of native memory cannot be viewed from JavaScript: this Node's limit is ${MAX_VIEW_BYTES}`);
  }
}

/** A size of native memory: a whole number of bytes (a negative or NaN size would reach calloc and the view as garbage). */
export function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new LoaderError('INVALID_ARGUMENT', `${String(size)} is not a size of native memory in bytes`);
  checkViewable(size);
}

/**
 * Zeroed native memory with a stable address. After free() its views are
 * empty (and its address 0): whoever still reads `bytes` or `view` gets
 * nothing, never the freed memory. Views taken from it before free() cannot
 * be taken back (an ArrayBuffer over native memory cannot be detached):
 * keep none past the owner's close, read `bytes` and `view` at each use.
 */
const MAX_SAFE_ADDRESS = BigInt(Number.MAX_SAFE_INTEGER);
/** What the constructor writes before the live views (see there); free() makes fresh empty ones. */
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

export class NativeBuffer {
  private pointer: Pointer;
  private addressValue: bigint;
  private bytesValue: Uint8Array;
  private viewValue: DataView;
  private freed = false;

  constructor(readonly size: number) {
    checkSize(size);
    // free() rewrites these: written first as it leaves them, so that V8 treats them as mutable from the first
    // buffer on (a field written once is a constant to optimized code, which the first free() would deoptimize).
    this.pointer = null;
    this.addressValue = 0n;
    this.bytesValue = EMPTY_BYTES;
    this.viewValue = EMPTY_VIEW;
    this.freed = true;
    this.freed = false;
    const ptr: Pointer = callocFn(1, Math.max(1, size));
    if (ptr === null) throw new SyscallError('calloc', koffi.errno(), `${size} bytes of native memory`);
    this.pointer = ptr;
    this.addressValue = koffi.address(ptr) as bigint;
    if (this.addressValue > MAX_SAFE_ADDRESS) {
      // addressNumber must be exact. User addresses stay below 2^47 (2^52 on arm64) unless a program asks mmap for more.
      freeFn(ptr);
      throw new LoaderError('INTERNAL', `native memory at 0x${this.addressValue.toString(16)}, above 2^53`);
    }
    const ab = koffi.view(ptr, Math.max(1, size)) as ArrayBuffer;
    this.bytesValue = new Uint8Array(ab, 0, size);
    this.viewValue = new DataView(ab);
  }

  /** The pointer for libc calls (null once freed). */
  get ptr(): Pointer {
    return this.pointer;
  }
  /** The address for attrs (0 once freed: the kernel then answers EFAULT, it never writes freed memory). */
  get address(): bigint {
    return this.addressValue;
  }
  /** The address as a number, for the bpf() call's attr argument (user-space addresses stay below 2^53; 0 once freed). */
  get addressNumber(): number {
    return Number(this.addressValue);
  }
  /** The memory's bytes (empty once freed). */
  get bytes(): Uint8Array {
    return this.bytesValue;
  }
  /** The memory as a DataView (empty once freed). */
  get view(): DataView {
    return this.viewValue;
  }
  get isFreed(): boolean {
    return this.freed;
  }

  /** A buffer holding a copy of `data` (plus `extra` zero bytes, e.g. a NUL). */
  static from(data: Uint8Array, extra = 0): NativeBuffer {
    const b = new NativeBuffer(data.length + extra);
    b.bytes.set(data);
    return b;
  }

  static string(s: string): NativeBuffer {
    return NativeBuffer.from(new TextEncoder().encode(s), 1);
  }

  /** Frees the memory, once; the views become empty ones first. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    const ptr = this.pointer;
    this.pointer = null;
    this.addressValue = 0n;
    this.bytesValue = new Uint8Array(0);
    this.viewValue = new DataView(new ArrayBuffer(0));
    freeFn(ptr);
  }
}

/** Native memory an attr points at: where it starts and how long it is. */
export interface NativeMemory {
  readonly address: bigint;
  /** The address as a number (user-space addresses stay below 2^53), what an attr's pointer field takes. */
  readonly addressNumber: number;
  readonly size: number;
}

export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
const PROT_EXEC = 0x4;
const MAP_ANONYMOUS = 0x20;

/** The system page size (sysconf(_SC_PAGESIZE)). */
export function pageSize(): number {
  return Number(sysconfFn(30));
}

const EPOLL_CLOEXEC = 0x80000;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 0x1;

/** Adds an fd (for input) to an epoll instance: 0 or a negative errno. */
export function epollAdd(ep: number, fd: number): number {
  const event = new NativeBuffer(epollEventSize);
  try {
    setField(event.view, epollEvent.events, EPOLLIN);
    setField(event.view, epollEvent.data, fd);
    return (epollCtlFn(ep, EPOLL_CTL_ADD, fd, event.ptr) as number) < 0 ? -koffi.errno() : 0;
  } finally {
    event.free();
  }
}

/** An empty epoll instance: an fd, or a negative errno. */
export function epollCreate(): number {
  const ep = epollCreateFn(EPOLL_CLOEXEC) as number;
  return ep < 0 ? -koffi.errno() : ep;
}

/**
 * epoll_wait on a libuv worker thread (koffi's async call), so the event
 * loop keeps running while nothing is ready. Resolves with the number of
 * ready fds (0 on timeout) or a negative errno.
 */
export function epollWaitAsync(ep: number, events: NativeBuffer, timeoutMs: number): Promise<number> {
  const max = Math.floor(events.size / epollEventSize);
  return new Promise((resolve, reject) => {
    epollWaitFn.async(ep, events.ptr, max, timeoutMs, (err: unknown, r: number) => {
      if (err) reject(err);
      else resolve(r < 0 ? -koffi.errno() : r);
    });
  });
}

/** MAP_FAILED is (void *)-1. */
const MAP_FAILED = 0xffffffffffffffffn;

/** mmap(2); returns the mapping, or a negative errno. */
export function mmap(length: number, prot: number, flags: number, fd: number, offset = 0): Pointer | number {
  // (offset is a page multiple, well within a double)
  const p = mmapFn(null, length, prot, flags, fd, offset) as Pointer;
  if (p === null || koffi.address(p) === MAP_FAILED) return -koffi.errno();
  return p;
}

export function munmap(p: Pointer, length: number): void {
  munmapFn(p, length);
}

/**
 * The `size` bytes of native memory at `address`, as the kernel would see
 * them: for fake bpf() doors in tests, which read and write through the
 * pointers an attr holds as the kernel does.
 */
export function memoryAt(address: bigint, size: number): Uint8Array {
  checkSize(size);
  return new Uint8Array(koffi.view(address, size) as ArrayBuffer);
}

/** The bytes of a mapping, as an ArrayBuffer over that memory (valid until munmap). */
export function view(p: Pointer, length: number): ArrayBuffer {
  checkSize(length);
  return koffi.view(p, length) as ArrayBuffer;
}

/** The hot path's stubs (see buildStubs), built last: building them uses the bindings and constants above. */
const stubs = buildStubs();
