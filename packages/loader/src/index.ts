/** @tsbpf/loader's public API: everything a consumer imports from the package. */
export { TsbpfError, withContext } from '@tsbpf/object';
export { flushKernelBtf, loadKernelBtf, readKernelBtfBytes, runningKernelBtf, VMLINUX_BTF, type LoadKernelBtfOptions } from './kernel-btf.js';
export { readFileBytes } from './read-file.js';
export { BatchCursor } from './batch-cursor.js';
export { BpfMap, UpdateFlags, possibleCpus, type MapOptions } from './map.js';
export { Program, type ProgramOptions, type TestRunOptions, type TestRunOutput } from './program.js';
export { VerifierError, formatVerifierError, type FormatVerifierErrorOptions } from './verifier-error.js';
export { SyscallError, errnoName } from './sys/errors.js';
export { Collection, loadCollection, type LoadCollectionOptions } from './collection.js';
export { BtfLoadError, LoaderError, MapIncompatibleError, NotSupportedError, type LoaderErrorCode } from './errors.js';
export { kconfigValue, kernelVersionCode, readKernelConfig } from './kconfig.js';
export {
  LegacyAttachment,
  Link,
  type CgroupAttachOptions,
  XdpMode,
  attach,
  NetfilterFamily,
  NetfilterHook,
  attachCgroup,
  attachNetfilter,
  attachRawTracepoint,
  attachTracepoint,
  attachTracing,
  attachUprobe,
  attachUprobeAt,
  attachXdp,
  type UprobeOptions,
  type AutoAttachTarget,
} from './link.js';
export { attachNetns, queryNetns } from './netns-attach.js';
export { attachKprobe, attachKsyscall, kallsymsHasSyscallWrapper, ksyscallSymbol, syscallSymbol, type KprobeOptions } from './kprobe.js';
export { attachKprobeMulti, globMatch, kprobePatternSymbols, resolveKprobePattern, type KprobeMultiOptions, type SymbolSources } from './kprobe-multi.js';
export { parseKprobeSection, type KprobeSection } from './kprobe-sections.js';
export {
  attachProbeTracefs,
  liveProbeEvents,
  probeEventLine,
  removeEventLine,
  type ProbeEvent,
  type ProbeTarget,
  type TracefsProbeOptions,
} from './tracefs-probe.js';
export { attachIter, IterLink, type IterOptions } from './iter.js';
export { attachSockMap, SockMapAttachment, type SockMapHook } from './sockmap-attach.js';
export { attachTcx, queryTcx, type MultiProgOrder, type TcxList } from './tcx.js';
export { attachNetkit, queryNetkit, type NetkitAttachType, type NetkitList, type NetkitOptions } from './netkit.js';
export { attachLircMode2, LircAttachment } from './lirc-mode2.js';
export { TcFilter, attachTc, createClsact, type TcOptions } from './tc-netlink.js';
export { XdpNetlinkAttachment, attachXdpNetlink, type XdpNetlinkOptions } from './xdp-netlink.js';
export { attachTcAny, attachXdpAny, tcxSupported, xdpLinksSupported, type AttachVia } from './net-attach-any.js';
export { attachSocketFilter, detachSocketFilter, socketFd, type SocketLike } from './socket-filter.js';
export { attachReuseport, detachReuseport } from './reuseport.js';
export { attachCgroupOrdered, queryCgroup, type CgroupOrderOptions, type CgroupProgList } from './cgroup-mprog.js';
export { attachStructOps, StructOpsLink, StructOpsRegistration } from './struct-ops.js';
export { withNetns } from './netns.js';
export { UsdtAttachment, attachUsdt, attachUsdtSection, parseUsdtSection, readUsdtProbes, type UsdtOptions } from './usdt.js';
export { attachUprobeMulti, hasUprobeMulti, uprobeMultiTargets, type UprobeMultiOptions } from './uprobe-multi.js';
export { resolveProbeTarget } from './library-path.js';
export { attachTypeSupported, helperSupported, mapTypeSupported, programTypeSupported } from './probes.js';
export { functionFileOffset } from './elf-symbols.js';
export { unpin } from './pin.js';
export { RingBufferReader } from './ring-reader.js';
export { PerfEventArrayReader } from './perf-reader.js';
export {
  attachPerfEvent,
  HardwareEvent,
  onlineCpus,
  PerfEventLink,
  PerfType,
  SoftwareEvent,
  type PerfAttachOptions,
  type PerfEventAttachment,
  type PerfEventOptions,
} from './perf-event.js';
export {
  btfFromId,
  btfInfo,
  linkFromId,
  linkInfo,
  listBtf,
  listLinks,
  listMaps,
  listPrograms,
  mapFromId,
  mapInfo,
  objectIds,
  programFromId,
  programInfo,
  type ObjectKind,
} from './inventory.js';
export { type BtfInfo, type MapInfo, type ProgramCode, type ProgramInfo, type ProgramInfoOptions } from './info.js';
export { linkTypeName, type LinkInfo, type LinkTarget } from './link-info.js';
export {
  StatsHandle,
  costsBetween,
  enableStats,
  statsSnapshot,
  statsSysctlEnabled,
  type ProgramCost,
  type ProgramCounters,
  type StatsSnapshot,
} from './stats.js';
export { BpfToken, DEFAULT_TOKEN_PATH } from './token.js';
