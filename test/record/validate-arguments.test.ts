// validateRecord's arguments (issue 14, item 7): a caller's mistake is a
// RangeError (or TypeError) of ours naming the argument, never a DataView's
// raw error, and never a record read with NaN bounds.

import { describe, expect, it } from 'vitest';
import { decodeEvent, validateRecord } from '../../src/record/decode.js';
import { encodeAll } from '../pipeline/helpers.js';

const bytes = encodeAll([{ type: 'exit', time: 5n, cpu: 0, pid: 10, pidns: 0, exitCode: 0 }]);

describe('validateRecord arguments', () => {
  it('NaN, a fraction or a negative count for available is a RangeError naming it', () => {
    expect(() => validateRecord(bytes, 0, NaN)).toThrow(new RangeError(`validateRecord: available NaN is not an integer in 0..${bytes.length} (the bytes from offset 0 to the end)`));
    expect(() => validateRecord(bytes, 0, 1.5)).toThrow(RangeError);
    expect(() => validateRecord(bytes, 0, -1)).toThrow(/available -1/);
    expect(() => validateRecord(bytes, 0, bytes.length + 8)).toThrow(/available \d+ is not an integer in 0\.\.\d+/);
  });

  it('an offset past the end, negative or NaN is a RangeError naming it', () => {
    expect(() => validateRecord(bytes, bytes.length + 8, 0)).toThrow(new RangeError(`validateRecord: offset ${bytes.length + 8} is not an integer in 0..${bytes.length} (the length of bytes)`));
    expect(() => validateRecord(bytes, -8, 8)).toThrow(/offset -8/);
    expect(() => validateRecord(bytes, NaN, 8)).toThrow(/offset NaN/);
    expect(() => decodeEvent(bytes, bytes.length + 64)).toThrow(RangeError);
  });

  it('bytes that are not a Uint8Array is a TypeError naming it', () => {
    expect(() => validateRecord(null as unknown as Uint8Array, 0, 0)).toThrow(new TypeError('validateRecord: bytes must be a Uint8Array, got null'));
    expect(() => validateRecord([1, 2] as unknown as Uint8Array, 0, 0)).toThrow(/got object/);
  });

  it('in-range arguments still validate: the whole record, the end (nothing available), a short tail', () => {
    expect(validateRecord(bytes, 0, bytes.length)).toBeUndefined();
    expect(validateRecord(bytes, bytes.length, 0)).toMatch(/truncated: 0 bytes available/);
    expect(validateRecord(bytes, 0, 12)).toMatch(/truncated/);
  });
});
