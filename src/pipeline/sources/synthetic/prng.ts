// The synthetic stream's PRNG. Hand-written sfc32 (128-bit state, passes
// PractRand, a few ns per draw, no allocation): src/ cannot depend on
// pure-rand, which is only here as a dev dependency of fast-check, and a
// 32-bit-state generator such as mulberry32 would cycle within a long
// benchmark stream. Every random choice of a stream comes from one of these,
// in one order: same seed, same stream.

export class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  /** `stream` selects an independent sequence for the same seed. */
  constructor(seed: number, stream = 0) {
    this.a = (0x9e3779b9 ^ Math.imul(stream, 0x85ebca6b)) | 0;
    this.b = seed >>> 0;
    this.c = Math.floor(seed / 4294967296) >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (((this.c << 21) | (this.c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}
