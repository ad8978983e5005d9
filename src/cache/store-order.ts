// Whether plain typed-array stores to shared memory become visible to other
// threads in program order, so that a writer may publish with plain stores
// what readers load with Atomics.load.
//
// x86-64 keeps stores in program order (TSO), and V8 emits a function's
// typed-array stores in program order: there, an Atomics.store (an xchg, a
// full fence of ~8 ns) buys nothing the machine does not already give, and
// the writer paths bump versions and watermarks several times an event.
// Elsewhere (arm64 may reorder stores) writers use Atomics. The torn-read
// stress test (test/pipeline/torn-reads.test.ts) checks the reader protocol
// as built. docs/pipeline.md says what a reader may see.

export const ORDERED_STORES = process.arch === 'x64';
