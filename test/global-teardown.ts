// Fails the run when a test left anything behind: fcni-t-* namespaces, links or nftables tables in the
// machine's own namespace, which tests never change (they work in namespaces they create and remove).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

function snapshot(): { links: string[]; tables: string[] } {
  const links = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>).map(
    (l) => l.ifname,
  );
  let tables: string[] = [];
  try {
    tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    tables = [];
  }
  return { links, tables };
}

let before: { links: string[]; tables: string[] };

export function setup(): void {
  // Workers inherit this; every namespace of this run is named fcni-t-<run>-… (test/helpers/netns.ts).
  process.env.FCNI_TEST_RUN ??= randomBytes(2).toString('hex');
  before = snapshot();
}

export function teardown(): void {
  const problems: string[] = [];
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`fcni-t-${process.env.FCNI_TEST_RUN}-`));
  for (const n of ns) {
    problems.push(`namespace left behind: ${n}`);
    try {
      execFileSync('ip', ['netns', 'del', n]);
    } catch {
      /* report anyway */
    }
  }
  const after = snapshot();
  for (const l of after.links) if (!before.links.includes(l)) problems.push(`link left in the machine's namespace: ${l}`);
  for (const t of after.tables) if (!before.tables.includes(t)) problems.push(`nftables table left in the machine's namespace: ${t}`);
  if (problems.length) throw new Error(`tests left state behind:\n${problems.join('\n')}`);
}
