// `npm run bench:live`: what the live agent costs (docs/benchmarks.md, "Live
// agent"). Not a timed test: it starts a real `forkline run --source bpf`,
// drives it with bench/live/driver.c (fork + exec /bin/true) and reports,
// per load, the agent's CPU (% of a core, µs per event, per thread), the
// visibility lag p50/p99 the agent measured, its drops, and bpftrace's CPU
// counting the same tracepoints at the same time when bpftrace is installed.
// Then an embedder's view: how long after spawn() returns a child resolves.
//
// Loads: idle, paced (~300 fork+exec/s, --rate), storm (one driver per core,
// as fast as the machine allows). Each load gets a fresh agent, a settle
// time, then a measured window (--seconds). CPU time is what is compared:
// the machine may be shared, wall-clock throughput is not the figure.
//
//   npm run bench:live -- [--seconds 10] [--rate 300] [--only idle,paced,storm,embed] [--json out.json]

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFile } from 'node:fs/promises';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLK_TCK = 100;

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const SECONDS = Number(arg('seconds', '10'));
const RATE = Number(arg('rate', '300'));
const ONLY = new Set(arg('only', 'idle,paced,storm,embed').split(','));
const JSON_OUT = arg('json', undefined);
const AGENT_ARGS = (arg('agent-args', '') || '').split(' ').filter(Boolean);

function cannotRun(why) {
  process.stderr.write(`bench:live cannot run here: ${why}\n`);
  process.exit(2);
}

if (process.getuid?.() !== 0) cannotRun(`it loads BPF programs and reads other processes' /proc entries, which needs root (this is uid ${process.getuid?.()})`);
if (!existsSync('/sys/kernel/btf/vmlinux')) cannotRun('the kernel has no BTF (/sys/kernel/btf/vmlinux): the BPF source cannot load');
if (spawnSync('cc', ['--version']).status !== 0) cannotRun('no C compiler (cc) to build the load driver: apt-get install gcc');

const work = mkdtempSync(join(tmpdir(), 'forkline-bench-live-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const driver = join(work, 'driver');
execFileSync('cc', ['-O2', '-o', driver, join(ROOT, 'bench', 'live', 'driver.c')]);
// the agent and the embedder run the compiled package (dist/, build/)
execFileSync('node', [join(ROOT, 'scripts', 'bootstrap.mjs'), '--build'], { stdio: ['ignore', 'ignore', 'inherit'] });

const bpftrace = spawnSync('bpftrace', ['--version']).status === 0 ? 'bpftrace' : undefined;
if (!bpftrace) process.stderr.write('bench:live: bpftrace is not installed (apt-get install bpftrace): its column stays empty\n');

// ---------------------------------------------------------------- CPU from /proc

/** utime + stime of a process (all threads), seconds. */
function processCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Per thread: name, CPU seconds (schedstat: ns, finer than stat's ticks) and times it ran (~ wake-ups). */
function threadCpu(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const [ns, , slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(tid, { name: Number(tid) === pid ? 'main' : comm, cpu: ns / 1e9, slices });
    } catch {
      // the thread ended
    }
  }
  return out;
}

function threadDelta(before, after) {
  const byName = new Map();
  let slices = 0;
  for (const [tid, a] of after) {
    const b = before.get(tid);
    const d = a.cpu - (b ? b.cpu : 0);
    slices += a.slices - (b ? b.slices : 0);
    byName.set(a.name, (byName.get(a.name) ?? 0) + d);
  }
  return { byName, slices };
}

// ---------------------------------------------------------------- the agent

async function startAgent(tag) {
  const sock = join(work, `${tag}.sock`);
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'forkline.js'), 'run', '--source', 'bpf', '--socket', sock, '--json', ...AGENT_ARGS],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const deadline = Date.now() + 30_000;
  while (!stderr.includes('query socket') && Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the agent exited: ${stderr}`);
    await sleep(100);
  }
  if (!stderr.includes('query socket')) throw new Error(`the agent did not start: ${stderr}`);
  return {
    pid: child.pid,
    sock,
    stats: () => status(sock),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      return { stdout, stderr };
    },
  };
}

function status(sock) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'forkline.js'), 'status', '--socket', sock, '--json'], { encoding: 'utf8' });
  if (!r.stdout) throw new Error(`forkline status failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function startBpftrace() {
  if (!bpftrace) return undefined;
  const child = spawn(
    bpftrace,
    ['-e', 'tracepoint:sched:sched_process_fork, tracepoint:sched:sched_process_exec, tracepoint:sched:sched_process_exit { @[probe] = count(); }'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return {
    pid: child.pid,
    async ready() {
      const deadline = Date.now() + 30_000;
      while (!out.includes('Attaching') && Date.now() < deadline) await sleep(50);
    },
    async stop() {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      return out;
    },
  };
}

function runDrivers(rate, seconds, count) {
  return Promise.all(
    Array.from({ length: count }, () => new Promise((resolve, reject) => {
      const c = spawn(driver, [String(rate), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('error', reject);
      c.on('exit', () => {
        const [forks, execs, failed] = out.trim().split(' ').map(Number);
        resolve({ forks, execs, failed });
      });
    })),
  ).then((all) => all.reduce((a, b) => ({ forks: a.forks + b.forks, execs: a.execs + b.execs, failed: a.failed + b.failed })));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- one load

async function measure(name, load) {
  const agent = await startAgent(name);
  await sleep(2000); // startup snapshot and JIT out of the window
  const tracer = startBpftrace();
  await tracer?.ready();
  const s0 = agent.stats();
  const cpu0 = processCpu(agent.pid);
  const th0 = threadCpu(agent.pid);
  const tr0 = tracer ? processCpu(tracer.pid) : 0;
  const t0 = performance.now();
  const driven = await load();
  const wall = (performance.now() - t0) / 1000;
  await sleep(200); // the last records through the latency budget
  const cpu = processCpu(agent.pid) - cpu0;
  const { byName: threads, slices } = threadDelta(th0, threadCpu(agent.pid));
  const trCpu = tracer ? processCpu(tracer.pid) - tr0 : undefined;
  const s1 = agent.stats();
  await tracer?.stop();
  await agent.stop();
  const events = s1.events - s0.events;
  const lag = s1.visibilityLag;
  const r = {
    load: name,
    seconds: round(wall, 2),
    forkExecPerSecond: driven ? round(driven.forks / wall, 0) : 0,
    events,
    eventsPerSecond: round(events / wall, 0),
    agentCpuPercent: round((cpu / wall) * 100, 2),
    agentUsPerEvent: events > 0 ? round((cpu * 1e6) / events, 1) : null,
    threadRunsPerSecond: round(slices / wall, 0),
    threadsCpuPercent: Object.fromEntries([...threads].sort((a, b) => b[1] - a[1]).map(([n, c]) => [n, round((c / wall) * 100, 2)])),
    lagP50Ms: lag ? lag.p50Ms : null,
    lagP99Ms: lag ? lag.p99Ms : null,
    lagSamples: lag ? lag.samples : null,
    drops: s1.drops.total - s0.drops.total,
    bpftraceCpuPercent: trCpu !== undefined ? round((trCpu / wall) * 100, 2) : null,
    loadAverage: round(loadavg()[0], 2),
  };
  process.stderr.write(`bench:live ${name}: ${JSON.stringify(r)}\n`);
  return r;
}

function round(x, d) {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}

// ---------------------------------------------------------------- embedder

/** Children spawned one at a time by a process embedding the pipeline: spawn() return to resolvable exec. */
function embed() {
  const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'live', 'embed.mjs'), '100'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('bench/live/embed.mjs failed');
  return JSON.parse(r.stdout);
}

// ---------------------------------------------------------------- main

const results = [];
if (ONLY.has('idle')) results.push(await measure('idle', async () => (await sleep(SECONDS * 1000), undefined)));
if (ONLY.has('paced')) results.push(await measure('paced', () => runDrivers(RATE, SECONDS, 1)));
if (ONLY.has('storm')) results.push(await measure('storm', () => runDrivers(0, SECONDS, availableParallelism())));
const embedded = ONLY.has('embed') ? embed() : undefined;

const cell = (v, unit = '') => (v === null || v === undefined ? '—' : `${v}${unit}`);
const lines = [
  '| load | fork+exec/s | events/s | agent CPU (% core) | µs/event | thread runs/s | lag p50 / p99 (ms) | drops | bpftrace CPU (% core) |',
  '|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) =>
    `| ${r.load} | ${r.forkExecPerSecond} | ${r.eventsPerSecond} | ${r.agentCpuPercent} | ${cell(r.agentUsPerEvent)} | ${r.threadRunsPerSecond} | ${cell(r.lagP50Ms)} / ${cell(r.lagP99Ms)} | ${r.drops} | ${cell(r.bpftraceCpuPercent)} |`),
];
process.stdout.write(lines.join('\n') + '\n\nper thread (% of a core):\n');
for (const r of results) process.stdout.write(`  ${r.load}: ${Object.entries(r.threadsCpuPercent).map(([n, c]) => `${n} ${c}`).join(', ')}\n`);
if (embedded) {
  process.stdout.write(`\nembedder: ${embedded.children} children, spawn() to resolvable exec p50 ${embedded.p50Ms} ms, p99 ${embedded.p99Ms} ms, max ${embedded.maxMs} ms\n`);
}
process.stdout.write(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
if (JSON_OUT) await writeFile(JSON_OUT, JSON.stringify({ results, embedded }, null, 2) + '\n');
