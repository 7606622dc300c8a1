// Command line of the benchmark: node dist/benchmarks/cli.js [--sizes 100,300] [--workers 4] [--rounds 3] [--modes a,b] [--pod-ipv6 off] [--chain]
import { Command, Option } from 'commander';
import { MODE_IDS, runBenchmark, type ModeId } from './index.js';

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const program = new Command('fastcni-bench')
  .description('pods per second: reference plugins, fastcni (agent, no agent, in-process) and the kernel floor')
  .option('--sizes <list>', 'pod counts, comma-separated (e.g. 10,100,300,1000)', '10,100')
  .option('--workers <n>', 'parallel workers', '4')
  .option('--rounds <n>', 'run every mode this many times, interleaved; targets use the median of the rounds', '1')
  .option('--modes <list>', `modes to run (${MODE_IDS.join(', ')})`)
  .option('--fallback-cap <n>', 'pods per size for the no-agent mode, which starts Node per call (0 = all)', '100')
  .option('--results <dir>', 'directory for JSON and SVG results')
  .addOption(
    new Option('--pod-ipv6 <on|off>', 'off: disable IPv6 in the pod namespaces — a diagnostic run, not a measurement of the targets')
      .choices(['on', 'off'])
      .default('on'),
  )
  .option('--chain', "podman's default chain per pod (bridge, portmap, firewall, tuning) instead of the bridge alone")
  .option('--no-progress', 'no progress bar');
program.parse();
const o = program.opts<{
  fallbackCap: string;
  sizes: string;
  workers: string;
  rounds: string;
  modes?: string;
  results?: string;
  podIpv6: 'on' | 'off';
  chain?: boolean;
  progress: boolean;
}>();
const modes = o.modes ? (list(o.modes) as ModeId[]) : undefined;
const bad = modes?.filter((m) => !MODE_IDS.includes(m));
if (bad?.length) {
  console.error(`unknown mode(s): ${bad.join(', ')}`);
  process.exit(2);
}
runBenchmark({
  sizes: list(o.sizes).map(Number),
  workers: Number(o.workers),
  rounds: Number(o.rounds),
  noAgentCap: Number(o.fallbackCap),
  ...(modes ? { modes } : {}),
  ...(o.results ? { resultsDir: o.results } : {}),
  podIpv6: o.podIpv6 === 'on',
  chain: o.chain === true,
  ...(o.progress ? {} : { progress: false }),
}).then(
  (r) => process.exit(r.runs.some((x) => x.leaks.seq.length || x.leaks.par.length) ? 1 : 0),
  (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
