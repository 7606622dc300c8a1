// nf_tables content is built from typed values only: interface names that Linux accepts but that
// hold quotes, a semicolon or braces (a bridge made beforehand in the node namespace, and the pod's
// interface name) go through bridge (masquerade, spoof check), portmap and firewall, chained by the
// fastcni command through the launchers. Each is either taken as data — nft lists exactly that name —
// or refused with code 7 leaving nothing behind; never a partial table.
import { describe, expect, it } from 'vitest';
import { fastcni, sandbox } from '../helpers/cli.js';
import { bridgeConf, nodeAndPod } from '../helpers/fixtures.js';
import { ip, ipJson, type Netns } from '../helpers/netns.js';
import { ruleset } from '../helpers/nft.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Names the kernel takes (dev_valid_name: no "/", ":" or whitespace, not "." or ".."), ≤ 15 bytes. */
const BRIDGE = `b"r;{x}'`;
const IFNAME = `e'0";{}`;

/** Every string anywhere in a JSON value. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

/** The tables of the node's ruleset that are ours (fastcni*), as nft -j lists them. */
function ourTables(node: Netns): unknown[] {
  return ruleset(node).filter((item) => {
    const obj = Object.values(item)[0] as { table?: string; name?: string };
    return (obj.table ?? (Object.keys(item)[0] === 'table' ? obj.name : '') ?? '').startsWith('fastcni');
  });
}

describe('interface names with quotes, ";" and braces in nf_tables', () => {
  it('bridge (masquerade, spoof check), portmap and firewall take them as data, and DEL leaves nothing', async () => {
    const { node, pod } = nodeAndPod();
    ip('-n', node.name, 'link', 'add', BRIDGE, 'type', 'bridge');
    const s = sandbox();
    const {
      cniVersion,
      name: _n,
      ...bridge
    } = bridgeConf({
      name: 'oddnames',
      dataDir: s.dataDir,
      bridge: BRIDGE,
      subnet: '10.96.0.0/24',
      extra: { macspoofchk: true },
    });
    const list = {
      cniVersion,
      name: 'oddnames',
      plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'firewall', ingressPolicy: 'same-bridge' }],
    };
    writeFileSync(join(s.confDir, '10-oddnames.conflist'), JSON.stringify(list));
    const env = { ...s.env, FASTCNI_SOCKET: join(s.cacheDir, 'no-agent.sock') };
    const cap = JSON.stringify({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    const add = await fastcni(['add', 'oddnames', pod.path, '--ifname', IFNAME, '--cap', cap, '--json'], { node, env });
    expect(add.code, add.stdout + add.stderr).toBe(0);

    // the kernel and nft see exactly these names
    expect(ipJson<Array<{ ifname: string }>>('-n', pod.name, 'link').map((l) => l.ifname)).toContain(IFNAME);
    const added = ourTables(node);
    const names = strings(added);
    expect(names).toContain(BRIDGE);
    // any text of ours that holds one of the odd characters is exactly one of the names, or a
    // comment that names the attachment whole
    for (const text of names.filter((t) => /["';{}]/.test(t))) {
      const exact = text === BRIDGE || text === IFNAME;
      const comment = text.includes(IFNAME) || text.includes(BRIDGE);
      expect(exact || comment, text).toBe(true);
    }
    // nft can still parse back what it lists (no name broke out of its field)
    const listed = JSON.stringify(added);
    expect(listed).toContain(JSON.stringify(BRIDGE));

    const del = await fastcni(['del', 'oddnames', pod.path, '--ifname', IFNAME, '--cap', cap], { node, env });
    expect(del.code, del.stdout + del.stderr).toBe(0);
    // nothing of the attachment is left; the bridge stays only in the firewall's policy sets, which
    // (as the reference's isolation chains) outlive their pods (plugins/firewall/README.md)
    const tables = ourTables(node);
    const left = strings(tables).filter((t) => t.includes(IFNAME) || t.includes('10.96.0.'));
    expect(left, JSON.stringify(tables)).toEqual([]);
    const bridgeIn = tables
      .filter((item) => strings(item).includes(BRIDGE))
      .map((item) => (Object.values(item as object)[0] as { table: string; name: string }).name);
    expect(bridgeIn.sort()).toEqual(['bridge-pairs', 'policy-bridges']);
  });
});
