import { describe, expect, it } from 'vitest';
import { ObjectParseError, TsbpfError, withContext } from './errors.js';

describe('TsbpfError', () => {
  it('carries a stable code, the errno and the cause apart from the message', () => {
    const cause = new Error('underneath');
    const e = new TsbpfError('SOME_CODE', 'what failed', { errno: 2, cause });
    expect(e).toBeInstanceOf(Error);
    expect([e.code, e.errno, e.cause, e.message, e.detail]).toEqual(['SOME_CODE', 2, cause, 'what failed', 'what failed']);
  });

  it('prefixes context outermost first, once per layer', () => {
    const e = new TsbpfError('X', 'EPERM');
    e.addContext('map counters').addContext('program xdp_prog').addContext('program xdp_prog');
    expect(e.message).toBe('program xdp_prog: map counters: EPERM');
    expect(e.context).toEqual(['program xdp_prog', 'map counters']);
    expect(e.detail).toBe('EPERM');
  });

  it('withContext adds context to tsbpf errors only', () => {
    expect(() =>
      withContext('map m', () => {
        throw new ObjectParseError('MAP_INVALID', 'bad');
      }),
    ).toThrow('map m: bad');
    const bug = new TypeError('bug');
    expect(() =>
      withContext('map m', () => {
        throw bug;
      }),
    ).toThrow(bug);
    expect(bug.message).toBe('bug');
  });

  it('is recognised across copies of the package by its brand, not by instanceof', () => {
    const e = new ObjectParseError('ELF_INVALID', 'not ELF');
    expect(TsbpfError.is(e)).toBe(true);
    expect(e).toBeInstanceOf(TsbpfError);
    expect(TsbpfError.is(new Error('plain'))).toBe(false);
    expect(TsbpfError.is({ code: 'ELF_INVALID' })).toBe(false);
    expect(e.name).toBe('ObjectParseError');
  });
});
