#!/usr/bin/env node
// The `fastcni` command: cnitool's verbs and environment plus `netns`, `list` and `version`.
// Only parsing and printing live here; every command is an exported function in commands.ts.
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  addCommand,
  agentStatusCommand,
  checkCommand,
  delCommand,
  gcCommand,
  listCommand,
  handbackCommand,
  netnsAddCommand,
  netnsDelCommand,
  netnsListCommand,
  statusCommand,
  versionCommand,
} from './commands.js';
import { addJson, addText, clusterLine, errorLine, listText } from './format.js';
import { versionAtLeast } from '../spec/versions.js';
import { DEFAULT_SOCKET, install, runAgent, type LogLevel } from '../agent/index.js';
import type { AttachmentOptions, GlobalOptions } from './invocation.js';
import { DhcpDaemon } from '../dhcp/daemon.js';
import { DEFAULT_DAEMON_SOCKET } from '../dhcp/protocol.js';
import { DEFAULT_STATE_DIR } from '../dhcp/lease-store.js';
import { jsonLogger } from '../agent/log.js';

type Opts = GlobalOptions & AttachmentOptions & { json?: boolean; valid?: string[] };

// A reader that stops early (`fastcni agent status | head -1`) closes the pipe: every later write
// fails with EPIPE, which Node reports as an 'error' event that, unhandled, ends the CLI with a
// stack trace. Coreutils and Go programs die of SIGPIPE there instead (status 141 in a shell);
// Node ignores SIGPIPE and cannot die of it faithfully. So output to a closed pipe is dropped
// quietly and the command ends with the status it has anyway: 0 when its work succeeded — the
// reader having had enough is no failure, and a script under `set -o pipefail` stays green — and
// 1 when it failed.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

function print(text: string, newline = true): void {
  process.stdout.write(newline ? `${text}\n` : text);
}

/** STATUS exists from 1.1.0; the runtime treats an unparsable version as older. */
function hasStatus(version: string): boolean {
  try {
    return versionAtLeast(version, '1.1.0');
  } catch {
    return false;
  }
}

function json(value: unknown): void {
  print(JSON.stringify(value, null, 4));
}

/** Run an action; a failure becomes one `error: … (CNI code N)` line on stderr and exit status 1. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      process.stderr.write(`${errorLine(e)}\n`);
      if (process.env.FASTCNI_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      process.exitCode = 1;
    }
  };
}

function attachmentOptions(cmd: Command): Command {
  return cmd
    .option('--id <id>', "container ID (default: cnitool's, derived from the netns path)")
    .option('-i, --ifname <name>', 'interface name in the container (default: $CNI_IFNAME or eth0)')
    .option('--cap <json>', 'capability args as a JSON object (default: $CAP_ARGS)')
    .option('--args <K=V;...>', 'CNI_ARGS pairs (default: $CNI_ARGS)');
}

const program = new Command('fastcni')
  .description('Attach containers to CNI networks (cnitool-compatible) and manage network namespaces.')
  .option('--conf-dir <dir>', 'network config directory (default: $NETCONFPATH or /etc/cni/net.d)')
  .option('--cache-dir <dir>', 'result cache directory (default: $FASTCNI_CACHE_DIR or /var/lib/cni)')
  .addOption(new Option('--timeout <seconds>', 'kill a plugin that runs longer than this (default: 120)'))
  .option('--json', 'print JSON instead of text')
  .showHelpAfterError('(run fastcni --help for usage)')
  .addHelpText(
    'after',
    '\nEnvironment (as cnitool): NETCONFPATH, CNI_PATH, CNI_ARGS, CAP_ARGS, CNI_IFNAME; flags win.\n' +
      'NETNS is a name under /var/run/netns or a path such as /proc/PID/ns/net.',
  );

for (const verb of ['add', 'check', 'del'] as const) {
  const descriptions = {
    add: 'add a network to a namespace and print the result',
    check: 'check an attachment against its cached result',
    del: 'delete a network from a namespace (idempotent)',
  };
  attachmentOptions(program.command(`${verb} <network> <netns>`).description(descriptions[verb])).action(
    action(async (network: string, netns: string, _o: Opts, cmd: Command) => {
      const o = cmd.optsWithGlobals<Opts>();
      if (verb === 'add') {
        const out = await addCommand(network, netns, o);
        if (o.json) print(addJson(out), false);
        else print(addText(out));
        return;
      }
      const out = verb === 'check' ? await checkCommand(network, netns, o) : await delCommand(network, netns, o);
      const what = `${out.network} ${out.conf.containerId}/${out.conf.ifname} (${out.conf.netns})`;
      if (o.json)
        json({
          command: verb,
          network: out.network,
          containerId: out.conf.containerId,
          ifname: out.conf.ifname,
          netns: out.conf.netns,
          ok: true,
        });
      else print(verb === 'check' ? `check ${what}: ok` : `deleted ${what}`);
    }),
  );
}

program
  .command('gc [network...]')
  .description('garbage-collect networks (all when none is named): delete cached attachments not listed with --valid')
  .option(
    '--valid <id/ifname...>',
    'attachments to keep (CONTAINERID/IFNAME); without it every cached attachment is deleted, as cnitool gc does',
  )
  .action(
    action(async (networks: string[], _o: Opts, cmd: Command) => {
      const o = cmd.optsWithGlobals<Opts>();
      const out = await gcCommand(networks, o);
      if (o.json) json(out.map((r) => ({ network: r.network, ok: !r.error, ...(r.error ? { error: r.error.toJSON() } : {}) })));
      else if (out.length === 0) print('gc: no networks');
      for (const r of out) {
        if (r.error) process.stderr.write(`${errorLine(r.error).replace(/^error: /, `error: gc ${r.network}: `)}\n`);
        else if (!o.json) print(`gc ${r.network}: ok`);
      }
      if (out.some((r) => r.error)) process.exitCode = 1;
    }),
  );

program
  .command('status <network>')
  .description('ask every plugin of a network whether it is ready (CNI STATUS)')
  .action(
    action(async (network: string, _o: Opts, cmd: Command) => {
      const o = cmd.optsWithGlobals<Opts>();
      const out = await statusCommand(network, o);
      if (o.json) json({ network: out.network, cniVersion: out.cniVersion, ok: true });
      else if (hasStatus(out.cniVersion)) print(`status ${out.network}: ready`);
      else print(`status ${out.network}: ready (cniVersion ${out.cniVersion} has no STATUS, so no plugin was asked)`);
    }),
  );

program
  .command('list')
  .description('networks in the config directory (malformed files reported) and cached attachments')
  .action(
    action(async (_o: Opts, cmd: Command) => {
      const o = cmd.optsWithGlobals<Opts>();
      const out = await listCommand(o);
      if (o.json) json(out);
      else print(listText(out));
    }),
  );

program
  .command('handback')
  .description(
    "switch the node back to the reference plugins: prepare every cached pod of a masquerading bridge or ptp network for the reference's DEL",
  )
  .action(
    action(async (_o: Opts, cmd: Command) => {
      const o = cmd.optsWithGlobals<Opts>();
      const out = await handbackCommand(o);
      if (o.json) json(out);
      else
        print(
          out.map((h) => `${h.network} ${h.containerId}/${h.ifname}: ${h.chains.join(', ') || 'no address'}`).join('\n') ||
            'no masqueraded pod cached',
        );
    }),
  );

program
  .command('version')
  .description('fastcni, native addon and supported CNI spec versions')
  .action(
    action(async (_o: Opts, cmd: Command) => {
      const o = cmd.optsWithGlobals<Opts>();
      const out = await versionCommand();
      if (o.json) json(out);
      else print(`fastcni ${out.version}\nnative addon: ${out.native ?? 'not loaded'}\nCNI spec versions: ${out.cniVersions.join(', ')}`);
    }),
  );

const netns = program.command('netns').description('named network namespaces under /var/run/netns (like ip netns)');
netns
  .command('add <name>')
  .description('create a named namespace')
  .action(
    action(async (name: string, _o: Opts, cmd: Command) => {
      const out = await netnsAddCommand(name);
      if (cmd.optsWithGlobals<Opts>().json) json(out);
      else print(out.path);
    }),
  );
netns
  .command('del <name>')
  .alias('delete')
  .description('delete a named namespace (succeeds when it does not exist)')
  .action(
    action(async (name: string, _o: Opts, cmd: Command) => {
      const out = await netnsDelCommand(name);
      if (cmd.optsWithGlobals<Opts>().json) json(out);
      else print(out.deleted ? `deleted namespace ${name}` : `namespace ${name} does not exist: nothing to delete`);
    }),
  );
netns
  .command('list')
  .description('names of the namespaces under /var/run/netns')
  .action(
    action(async (_o: Opts, cmd: Command) => {
      const names = await netnsListCommand();
      if (cmd.optsWithGlobals<Opts>().json) json(names);
      else if (names.length > 0) print(names.join('\n'));
    }),
  );

const agentSocket = () => process.env.FASTCNI_SOCKET || DEFAULT_SOCKET;
const agent = program
  .command('agent')
  .description('run the resident agent that serves plugin invocations handed over by the launcher (until SIGTERM)')
  .option('--socket <path>', 'unix socket to listen on (default: $FASTCNI_SOCKET or /run/fastcni/agent.sock)')
  .option('--metrics-port <port>', 'serve Prometheus text metrics on 127.0.0.1:PORT (0: any free port, logged as metricsPort)')
  .option('--log-level <level>', 'debug, info, warn or error (default: info)')
  .option(
    '--cluster <file>',
    'run the cluster controller from this JSON file: lease a node subnet in etcd, route to the peers, write subnet.env',
  )
  .addHelpText(
    'after',
    '\nTests only: started with FASTCNI_FAULT_INJECTION=1, the agent kills itself at the fault point a request names (docs/RELIABILITY.md).',
  )
  .action(
    action(async (o: { socket?: string; metricsPort?: string; logLevel?: string; cluster?: string }) => {
      const port = o.metricsPort === undefined ? undefined : Number(o.metricsPort);
      if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536))
        throw new Error(`--metrics-port: not a port number: ${o.metricsPort}`);
      await runAgent({
        socketPath: o.socket ?? agentSocket(),
        metricsPort: port,
        logLevel: o.logLevel as LogLevel | undefined,
        ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
      });
      // Stopped cleanly (requests answered, lease revoked): a handle the etcd client may still hold
      // open (a reconnect timer) must not keep the process alive after its SIGTERM.
      process.exit(process.exitCode ?? 0);
    }),
  );
agent
  .command('status [network...]')
  .description(
    "the running agent's uptime, requests, errors, latency percentiles and each network's last STATUS; the networks named are checked first, through the launchers in CNI_PATH (exit status 1 when one is not ready)",
  )
  .option('--socket <path>', 'the agent socket (default: $FASTCNI_SOCKET or /run/fastcni/agent.sock)')
  .action(
    action(async (networks: string[], _o: { socket?: string }, cmd: Command) => {
      // `--socket` after `status` may be taken by the parent `agent` command: read both.
      const o = cmd.optsWithGlobals<Opts & { socket?: string }>();
      const { agent: s, checked } = await agentStatusCommand(networks, { ...o, socketPath: o.socket ?? agentSocket() });
      if (checked.some((c) => !c.ready)) process.exitCode = 1;
      if (o.json) return json(networks.length > 0 ? { ...s, checked } : s);
      print(
        `agent pid ${s.pid}, up ${s.uptimeSeconds.toFixed(0)} s, ${s.requests} requests, ${s.errors} errors, ${s.refused} refused, ${s.inFlight} in flight, RSS ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB`,
      );
      if (s.cluster) print(clusterLine(s.cluster));
      for (const [key, l] of Object.entries(s.latency)) print(`  ${key}: ${JSON.stringify(l)}`);
      if (s.phases.length) print('  mean time per phase (ms):');
      for (const p of s.phases) print(`    ${p.name}: ${(p.totalMs / p.count).toFixed(3)} × ${p.count}`);
      const health = Object.entries(s.networks);
      if (health.length) print('  networks (last STATUS served):');
      for (const [name, h] of health) {
        const when = new Date(h.checkedAt).toISOString();
        print(`    ${name}: ${h.ready ? 'ready' : `not ready: ${h.msg} (CNI code ${h.code})`} (${h.plugin}, ${when})`);
      }
      // a network the agent did not serve (CNI_PATH without our launchers, or no such network)
      for (const c of checked.filter((c) => !c.ready && !s.networks[c.network]))
        process.stderr.write(`error: status ${c.network}: ${c.msg} (CNI code ${c.code})\n`);
    }),
  );

program
  .command('dhcp-daemon')
  .description('serve the dhcp IPAM plugin: acquire, renew and release DHCP leases inside pod namespaces (until SIGTERM)')
  .option('--socket-path <path>', 'unix socket to listen on', DEFAULT_DAEMON_SOCKET)
  .option('--state-dir <dir>', 'where leases are kept across daemon restarts', DEFAULT_STATE_DIR)
  .option('--pidfile <path>', 'write the daemon pid to this file')
  .option('--host-prefix <path>', "prefix to the host's root for namespace paths (a daemon in a container)")
  .option('--timeout <seconds>', 'give up on one DHCP exchange after this long', '10')
  .option('--resend <seconds>', 'resend an unanswered DHCP message after this long', '2')
  .action(
    action(async (o: { socketPath: string; stateDir: string; pidfile?: string; hostPrefix?: string; timeout: string; resend: string }) => {
      const seconds = (flag: string, v: string): number => {
        const n = Number(v);
        if (!(Number.isFinite(n) && n > 0)) throw new Error(`${flag}: not a positive number of seconds: ${v}`);
        return Math.round(n * 1000);
      };
      if (o.pidfile !== undefined && !o.pidfile.startsWith('/')) throw new Error(`--pidfile: path not absolute: ${o.pidfile}`);
      const daemon = new DhcpDaemon({
        socketPath: o.socketPath,
        stateDir: o.stateDir,
        pidfile: o.pidfile,
        hostPrefix: o.hostPrefix,
        timeoutMs: seconds('--timeout', o.timeout),
        resendMs: seconds('--resend', o.resend),
        log: jsonLogger('info'),
      });
      await daemon.start();
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      await daemon.close();
    }),
  );

program
  .command('install')
  .description('install the launcher under each plugin name in a CNI bin dir and print a systemd unit for the agent')
  .requiredOption('--bin-dir <dir>', 'CNI plugin directory, e.g. /opt/cni/bin')
  .option('--force', 'replace plugin binaries that are not ours')
  .option('--socket <path>', 'agent socket the launchers use (default: /run/fastcni/agent.sock)')
  .action(
    action(async (o: { binDir: string; force?: boolean; socket?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Opts>();
      const out = await install({ binDir: o.binDir, confDir: g.confDir, force: o.force, socketPath: o.socket });
      if (g.json) return json(out);
      print(`installed: ${out.installed.join(' ')}`);
      if (out.conflist) print(`example network: ${out.conflist}`);
      print(`\n# save as /etc/systemd/system/fastcni-agent.service, then: systemctl enable --now fastcni-agent\n${out.unit}`);
    }),
  );

program
  .command('bench')
  .description('pods per second against the reference plugins and the kernel floor (build it first with `make bench`)')
  .option('--sizes <list>', 'pod counts, comma-separated', '10,100')
  .option('--workers <n>', 'parallel workers', '4')
  .option('--rounds <n>', 'run every mode this many times, interleaved; targets use the median of the rounds', '1')
  .option('--modes <list>', 'modes: debian, ref-nft, agent, noagent, inproc, floor (default: all available)')
  .addOption(
    new Option('--pod-ipv6 <on|off>', 'off: disable IPv6 in the pod namespaces — a diagnostic run, not a measurement of the targets')
      .choices(['on', 'off'])
      .default('on'),
  )
  .action(
    action(async (o: { sizes: string; workers: string; rounds: string; modes?: string; podIpv6: 'on' | 'off' }) => {
      // The harness is built beside dist/src by `make bench` (benchmarks/tsconfig.json); it is not
      // part of the library, so it is loaded only here, by path.
      const harness = new URL('../../benchmarks/index.js', import.meta.url);
      if (!existsSync(fileURLToPath(harness))) throw new Error('the benchmark is not built: run `make bench` once');
      const { runBenchmark } = (await import(harness.href)) as {
        runBenchmark: (o: Record<string, unknown>) => Promise<{ runs: Array<{ leaks: { seq: string[]; par: string[] } }> }>;
      };
      const list = (v: string) =>
        v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
      const report = await runBenchmark({
        sizes: list(o.sizes).map(Number),
        workers: Number(o.workers),
        rounds: Number(o.rounds),
        ...(o.modes ? { modes: list(o.modes) } : {}),
        podIpv6: o.podIpv6 === 'on',
      });
      if (report.runs.some((r) => r.leaks.seq.length || r.leaks.par.length)) process.exitCode = 1;
    }),
  );

await program.parseAsync(process.argv);
