/**
 * Programs attached to a sockmap or sockhash: sk_skb stream parser, stream
 * verdict and skb verdict, and sk_msg verdict, with BPF_PROG_ATTACH on the
 * map's fd (they then run for every socket in the map); closing the
 * attachment detaches them.
 */
import { AttachType, MapType, ProgramType } from '@tsbpf/object';
import { LoaderError } from './errors.js';
import type { BpfMap } from './map.js';
import type { Program } from './program.js';
import * as sys from './sys/bpf.js';

/** The hooks of a socket map, by the name libbpf's SEC() uses after the program type. */
const HOOKS = {
  stream_parser: { type: ProgramType.sk_skb, attachType: AttachType.sk_skb_stream_parser },
  stream_verdict: { type: ProgramType.sk_skb, attachType: AttachType.sk_skb_stream_verdict },
  skb_verdict: { type: ProgramType.sk_skb, attachType: AttachType.sk_skb_verdict },
  msg_verdict: { type: ProgramType.sk_msg, attachType: AttachType.sk_msg_verdict },
} as const;

export type SockMapHook = keyof typeof HOOKS;

/** A program on a socket map's hook; close() detaches it (the map and program stay open: they are the caller's). */
export class SockMapAttachment implements Disposable {
  private attached = true;
  constructor(
    private readonly map: BpfMap,
    private readonly program: Program,
    private readonly attachType: number,
    readonly description: string,
  ) {}

  close(): void {
    if (!this.attached) return;
    this.attached = false;
    sys.progDetach(this.map.fd, this.program.fd, this.attachType, this.description);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** BPF_PROG_ATTACH of `program` to `hook` of a sockmap or sockhash (one program per hook: attaching another replaces it). */
export function attachSockMap(program: Program, map: BpfMap, hook: SockMapHook): SockMapAttachment {
  const h = HOOKS[hook];
  if (!h) throw new LoaderError('INVALID_ARGUMENT', `no socket map hook ${String(hook)} (one of ${Object.keys(HOOKS).join(', ')})`);
  const description = `program ${program.name}: ${hook} of map ${map.name}`;
  if (program.type !== h.type)
    throw new LoaderError('INVALID_ARGUMENT', `the ${hook} hook takes ${h.type === ProgramType.sk_msg ? 'sk_msg' : 'sk_skb'} programs`).addContext(description);
  if (map.type !== MapType.sockmap && map.type !== MapType.sockhash)
    throw new LoaderError('INVALID_ARGUMENT', 'not a sockmap or sockhash').addContext(description);
  sys.progAttach(map.fd, program.fd, h.attachType, 0, description);
  return new SockMapAttachment(map, program, h.attachType, description);
}
