// The multi-node scene of `make demo`, on the lab the tests use (test/helpers/cluster-lab.ts): etcd on
// loopback ports of its own, 3 simulated nodes whose agents lease subnets and build VXLAN to each other,
// 2 pods per node, pings across nodes, a server seeing the client pod's own address (no NAT), one
// node's routes and VXLAN entries. Everything is removed at the end, on failure and on Ctrl-C.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { ClusterLab } from '../test/helpers/cluster-lab.js';
import { type EtcdCluster, haveEtcd, launchEtcd } from '../test/helpers/etcd.js';

const say = (s: string) => process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);
const show = (...args: string[]) => process.stdout.write(execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' }));

/** A one-connection TCP server in `ns` (netcat-openbsd); resolves with the address it saw connect. */
function acceptOne(ns: string, port: number): { listening: Promise<void>; peer: Promise<string> } {
  const nc = spawn('ip', ['netns', 'exec', ns, 'timeout', '5', 'nc', '-l', '-n', '-v', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  let ready: () => void = () => undefined;
  const listening = new Promise<void>((resolve) => {
    ready = resolve;
    // older netcat-openbsd does not say when it listens
    setTimeout(resolve, 500);
  });
  nc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (/Listening on/.test(err)) ready();
  });
  const peer = new Promise<string>((resolve) =>
    nc.once('exit', () => resolve(/Connection received on (\S+)/.exec(err)?.[1] ?? `nothing (${err.trim()})`)),
  );
  return { listening, peer };
}

async function main(): Promise<void> {
  if (!haveEtcd) {
    say('multi-node scene skipped: no /usr/bin/etcd (make setup installs etcd-server)');
    return;
  }
  let etcd: EtcdCluster | undefined;
  let lab: ClusterLab | undefined;
  let closing: Promise<void> | undefined;
  const cleanup = () =>
    (closing ??= (async () => {
      await lab?.close();
      await etcd?.close();
    })());
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say('multi-node: etcd on a loopback port, 3 nodes on one underlay bridge, `fastcni agent --cluster` per node (vxlan)');
    etcd = await launchEtcd(1);
    console.log(`etcd at ${etcd.endpoints.join(', ')}`);
    lab = await ClusterLab.create({ prefix: `fcni-demo-${process.pid}-`, nodes: 3, backend: 'vxlan', etcd: etcd.endpoints });
    for (const n of lab.nodes) {
      const c = await lab.cluster(n);
      console.log(`${n.name}: underlay ${n.publicIP}, leased ${c?.subnets.join(' ')}, VTEP MAC ${c?.vtepMAC}, peers ${c?.peers.length}`);
    }

    say('2 pods per node (fastcni add in the node namespace, through the launchers and the node agent)');
    await lab.addPods(2);
    for (const p of lab.pods) console.log(`${p.node.name}  ${p.address}  ${p.ns}`);

    say('pings across nodes: the first pod of each node to the first pod of every other node');
    const firsts = lab.nodes.map((n) => lab!.podsOf(n)[0]!);
    for (const a of firsts)
      for (const b of firsts.filter((x) => x !== a))
        console.log(`${a.node.name}/${a.address} → ${b.node.name}/${b.address}: ${(await lab.ping(a.ns, b.address)) ? 'ok' : 'NO ANSWER'}`);

    const [server, client] = [lab.podsOf(lab.nodes[0]!)[0]!, lab.podsOf(lab.nodes[1]!)[0]!];
    say(`no NAT between pods: a server in ${server.node.name}/${server.address}, a client in ${client.node.name}/${client.address}`);
    const conn = acceptOne(server.ns, 8080);
    await conn.listening;
    const sent = spawnSync('ip', ['netns', 'exec', client.ns, 'nc', '-n', '-w', '2', '-N', server.address, '8080'], { input: 'hello\n' });
    const seen = await conn.peer;
    if (sent.status !== 0) console.log(`the client could not connect (nc exit ${sent.status})`);
    console.log(`the server saw ${seen}: ${seen === client.address ? "the client pod's own address" : 'NOT the client pod'}`);

    const n0 = lab.nodes[0]!;
    say(`${n0.name}: routes to the other nodes' subnets over fastcni.1, and its VXLAN neighbours and FDB`);
    show('ip', '-n', n0.ns, 'route');
    show('ip', '-n', n0.ns, 'neigh', 'show', 'dev', 'fastcni.1');
    show('bridge', '-n', n0.ns, 'fdb', 'show', 'dev', 'fastcni.1');
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  say('multi-node: agents, etcd, namespaces and temporary directories removed');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
