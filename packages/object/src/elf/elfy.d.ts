// elfy ships no types; this is the slice of its output we rely on.
declare module 'elfy' {
  export interface ElfySection {
    name: string;
    type: string | number;
    off: number;
    size: number;
    link: number;
    info: number;
    data: Uint8Array;
  }
  export interface ElfyResult {
    class: string;
    endian: 'lsb' | 'msb';
    type: string | number;
    machine: string | number;
    shnum: number;
    shstrndx: number;
    body: { sections: ElfySection[] };
  }
  // elfy assigns to `exports` through an alias, which Node's ESM loader cannot
  // see as named exports: only the default (module.exports) import works.
  const elfy: { parse(buf: Uint8Array): ElfyResult };
  export default elfy;
}
