/**
 * The netlink wire format as pure functions: a request (nlmsghdr, a fixed
 * family header, attributes, nested attributes) to bytes, and the kernel's
 * replies from bytes (an ack or an error with its extended-ack message).
 */

/** A netlink attribute: a type and bytes, or a type and nested attributes. */
export interface NlAttr {
  type: number;
  value: Uint8Array | NlAttr[];
}

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
const NLA_F_NESTED = 0x8000;
const NLMSGERR_ATTR_MSG = 1;
const HEADER = 16;

const align4 = (n: number) => (n + 3) & ~3;

export const u32Attr = (type: number, v: number): NlAttr => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return { type, value: b };
};
export const s32Attr = (type: number, v: number): NlAttr => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return { type, value: b };
};
/** A NUL-terminated string attribute. */
export const stringAttr = (type: number, s: string): NlAttr => {
  const e = new TextEncoder().encode(s);
  const b = new Uint8Array(e.length + 1);
  b.set(e);
  return { type, value: b };
};

function attrsLength(attrs: readonly NlAttr[]): number {
  return attrs.reduce((n, a) => n + align4(4 + (a.value instanceof Uint8Array ? a.value.length : attrsLength(a.value))), 0);
}

function writeAttrs(out: DataView, at: number, attrs: readonly NlAttr[]): number {
  for (const a of attrs) {
    const nested = !(a.value instanceof Uint8Array);
    const len = 4 + (a.value instanceof Uint8Array ? a.value.length : attrsLength(a.value));
    out.setUint16(at, len, true);
    out.setUint16(at + 2, a.type | (nested ? NLA_F_NESTED : 0), true);
    if (a.value instanceof Uint8Array) new Uint8Array(out.buffer, out.byteOffset + at + 4, a.value.length).set(a.value);
    else writeAttrs(out, at + 4, a.value);
    at += align4(len);
  }
  return at;
}

/** One request: nlmsghdr (type, flags, seq, port 0), the family header's bytes, then the attributes. */
export function encodeRequest(type: number, flags: number, seq: number, familyHeader: Uint8Array, attrs: readonly NlAttr[]): Uint8Array {
  const length = HEADER + align4(familyHeader.length) + attrsLength(attrs);
  const bytes = new Uint8Array(length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq >>> 0, true);
  bytes.set(familyHeader, HEADER);
  writeAttrs(v, HEADER + align4(familyHeader.length), attrs);
  return bytes;
}

/** struct tcmsg: family AF_UNSPEC, ifindex, handle, parent, info. */
export function tcmsg(ifindex: number, handle: number, parent: number, info: number): Uint8Array {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setInt32(4, ifindex, true);
  v.setUint32(8, handle >>> 0, true);
  v.setUint32(12, parent >>> 0, true);
  v.setUint32(16, info >>> 0, true);
  return b;
}

/** struct ifinfomsg: family AF_UNSPEC, the interface's index, no flag changes. */
export function ifinfomsg(ifindex: number): Uint8Array {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setInt32(4, ifindex, true);
  return b;
}

/** A message of a reply: its type, flags, sequence number and payload. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  payload: Uint8Array;
}

/** The messages in one datagram from the kernel (a truncated tail is left out). */
export function decodeMessages(bytes: Uint8Array): NlMessage[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: NlMessage[] = [];
  let at = 0;
  while (at + HEADER <= bytes.length) {
    const len = v.getUint32(at, true);
    if (len < HEADER || at + len > bytes.length) break;
    out.push({
      type: v.getUint16(at + 4, true),
      flags: v.getUint16(at + 6, true),
      seq: v.getUint32(at + 8, true),
      payload: bytes.subarray(at + HEADER, at + len),
    });
    at += align4(len);
  }
  return out;
}

/** The attributes in `bytes` (one level), by type with the nested flag cleared. */
export function decodeAttrs(bytes: Uint8Array): { type: number; value: Uint8Array }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { type: number; value: Uint8Array }[] = [];
  let at = 0;
  while (at + 4 <= bytes.length) {
    const len = v.getUint16(at, true);
    if (len < 4 || at + len > bytes.length) break;
    out.push({ type: v.getUint16(at + 2, true) & ~NLA_F_NESTED & 0x7fff, value: bytes.subarray(at + 4, at + len) });
    at += align4(len);
  }
  return out;
}

/** An NLMSG_ERROR message: errno 0 is an ack; `message` is the extended ack's text, when the kernel gave one. */
export function decodeError(m: NlMessage): { errno: number; message?: string } {
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  if (m.payload.length < 4) return { errno: 0 };
  const errno = Math.abs(v.getInt32(0, true));
  if (!(m.flags & NLM_F_ACK_TLVS) || m.payload.length < 4 + HEADER) return { errno };
  // The request's header follows, with its payload unless the ack was capped.
  const echoed = m.flags & NLM_F_CAPPED ? HEADER : align4(v.getUint32(4, true));
  const tlvs = decodeAttrs(m.payload.subarray(Math.min(4 + echoed, m.payload.length)));
  const msg = tlvs.find((a) => a.type === NLMSGERR_ATTR_MSG);
  if (!msg) return { errno };
  const end = msg.value.indexOf(0);
  return { errno, message: new TextDecoder().decode(end < 0 ? msg.value : msg.value.subarray(0, end)) };
}
