// `make soak`: churn (test/helpers/churn.ts) through the launchers and a resident agent for a given
// time or number of ADD/DEL cycles, the invariants checked throughout, then a summary: steps per
// operation, errors, invariant failures, pods/s and the agent's RSS at start, after 1,000 and after
// 10,000 cycles and at the end.
// node dist/benchmarks/soak.js [--minutes 10] [--cycles N] [--max-pods 32] [--check-every 1] [--seed N]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { churnSeed, runChurn, type ChurnSummary } from '../test/helpers/churn.js';
import { LoadNet } from '../test/helpers/load.js';
import { FASTCNI, OUR_BIN } from './modes.js';
import { Sandbox } from './sandbox.js';

/** The cycle counts at which the agent's RSS is recorded (the flatness target compares the two). */
const RSS_AT = [1_000, 10_000] as const;
/**
 * RSS is sampled every RSS_EVERY cycles and a mark's figure is the median of the samples over the
 * RSS_WINDOW cycles before it: one reading swings by tens of MB with V8's collections.
 */
const RSS_EVERY = 10;
const RSS_WINDOW = 500;

const o = new Command('fastcni-soak')
  .description('churn through launcher + agent with the invariants checked throughout; a summary at the end')
  .option('--minutes <m>', 'run this long', '10')
  .option('--cycles <n>', 'stop after this many ADD/DEL cycles (whichever comes first)')
  .option('--max-pods <n>', 'pods alive at once, at most', '32')
  .option('--check-every <n>', 'check the invariants after every n-th step', '1')
  .option('--seed <n>', 'replay a run (default: FASTCNI_CHURN_SEED, else a fresh seed)')
  .option('--no-portmap', 'bridge + host-local only')
  .parse()
  .opts<{ minutes: string; cycles?: string; maxPods: string; checkEvery: string; seed?: string; portmap: boolean }>();

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    console.error(`soak: ${name} must be a positive number, got ${v}`);
    process.exit(2);
  }
  return n;
}

/** VmRSS of a process, MB. */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

async function main(): Promise<number> {
  const minutes = positive('--minutes', o.minutes)!;
  const cycles = positive('--cycles', o.cycles);
  if (o.seed !== undefined) process.env.FASTCNI_CHURN_SEED = o.seed;
  const seed = churnSeed();
  const sandbox = new Sandbox();
  const [node] = sandbox.makeNetns(['node']);
  const socketPath = join(sandbox.dir, 'run', 'agent.sock');
  const agent = sandbox.spawn(process.execPath, [FASTCNI, 'agent', '--socket', socketPath], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200 && !existsSync(socketPath); i++) await sleep(25);
  if (!existsSync(socketPath)) throw new Error('the agent did not start');
  const pid = agent.pid!;
  const net = new LoadNet({ node: node!, binDir: OUR_BIN, dir: sandbox.dir, socketPath, subnet: '10.90.0.0/16', portmap: o.portmap });
  const rss: Array<[string, number]> = [['start', rssMb(pid)]];
  const samples: Array<[number, number]> = [];
  const median = (upTo: number) => {
    const xs = samples
      .filter(([c]) => c > upTo - RSS_WINDOW && c <= upTo)
      .map(([, mb]) => mb)
      .sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)] ?? rssMb(pid);
  };
  let sampled = 0;
  console.log(
    `soak: seed ${seed} (replay: --seed ${seed}), ${minutes} min${cycles ? ` or ${cycles} cycles` : ''}, agent RSS ${rss[0]![1].toFixed(1)} MB`,
  );
  let nextReport = Date.now() + 30_000;
  const until = Date.now() + minutes * 60_000;
  const s: ChurnSummary = await runChurn({
    net,
    seed,
    until,
    ...(cycles ? { cycles } : {}),
    maxPods: positive('--max-pods', o.maxPods)!,
    checkEvery: positive('--check-every', o.checkEvery)!,
    nsPrefix: `${sandbox.prefix}pod-`,
    onStep(now) {
      const done = now.ops.DEL.ok;
      if (done >= sampled + RSS_EVERY) {
        sampled = done - (done % RSS_EVERY);
        samples.push([done, rssMb(pid)]);
      }
      const mark = RSS_AT.find((c) => c <= done && !rss.some(([l]) => l === `${c} cycles`));
      if (mark) rss.push([`${mark} cycles`, median(mark)]);
      if (Date.now() >= nextReport) {
        nextReport += 30_000;
        console.log(
          `soak: ${(now.ms / 1000).toFixed(0)} s, ${now.steps} steps, ${done} cycles, ${now.live} live, ${now.errors.length} errors, ${now.violatedSteps} violating steps, RSS ${rssMb(pid).toFixed(1)} MB`,
        );
      }
    },
  });
  rss.push(['end', rssMb(pid)]);
  const all = samples.map(([, mb]) => mb);
  await sandbox.kill(agent);
  sandbox.close();
  const secs = s.ms / 1000;
  console.log('\nsoak summary');
  console.log(`  seed          ${s.seed}`);
  console.log(`  time          ${secs.toFixed(0)} s, ${s.steps} steps, ${s.ops.DEL.ok} ADD/DEL cycles`);
  for (const op of ['ADD', 'DEL', 'CHECK'] as const) console.log(`  ${op.padEnd(13)} ${s.ops[op].ok} ok, ${s.ops[op].failed} failed`);
  console.log(`  pods/s        ${(s.ops.ADD.ok / secs).toFixed(1)} ADDs per second (invariant checks included)`);
  console.log(`  errors        ${s.ops.ADD.failed + s.ops.DEL.failed + s.ops.CHECK.failed}`);
  console.log(`  invariants    ${s.violatedSteps} steps violated them`);
  for (const line of [...s.errors, ...s.violations]) console.log(`    ${line}`);
  console.log(`  agent RSS     ${rss.map(([l, mb]) => `${l} ${mb.toFixed(1)} MB`).join(', ')}`);
  console.log(`                (a mark: the median of the samples every ${RSS_EVERY} cycles over the ${RSS_WINDOW} before it)`);
  if (all.length) console.log(`                samples ${Math.min(...all).toFixed(1)}–${Math.max(...all).toFixed(1)} MB over the run`);
  const at = (l: string) => rss.find(([x]) => x === l)?.[1];
  const [a, b] = [at('1000 cycles'), at('10000 cycles')];
  if (a && b) {
    const change = (b / a - 1) * 100;
    console.log(
      `  RSS flatness  after 10,000 cycles ${change >= 0 ? '+' : ''}${change.toFixed(1)} % of after 1,000 (target: within 10 %): ${Math.abs(change) <= 10 ? 'met' : 'NOT met'}`,
    );
  } else {
    console.log('  RSS flatness  not measured (needs 10,000 cycles: --cycles 10000 with enough --minutes)');
  }
  return s.errors.length || s.violatedSteps ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`soak: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
