// Turns runs into the table, the target verdicts and a self-drawn SVG chart.
import { MODE_IDS, type ModeId, type PhaseTotal } from './modes.js';
import type { RunResult } from './index.js';
import { round } from './stats.js';

export interface Target {
  name: string;
  /** measured value and the limit it is held against */
  measured?: number;
  limit: string;
  status: 'pass' | 'miss' | 'n/a';
  note?: string;
  /** with several rounds: the value of each round (measured is their median) */
  perRound?: number[];
}

/** The middle value (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs grouped by round, in round order. */
function byRound(runs: RunResult[]): RunResult[][] {
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  return rounds.map((k) => runs.filter((r) => r.round === k));
}

/**
 * One run per mode and size: with several rounds, the round whose sequential ADD per-pod time is
 * the median (an actual run, not a blend of runs) — what the chart draws.
 */
export function representative(runs: RunResult[]): RunResult[] {
  const out: RunResult[] = [];
  for (const r of runs) {
    if (out.some((o) => o.mode === r.mode && o.pods === r.pods)) continue;
    const same = runs.filter((o) => o.mode === r.mode && o.pods === r.pods).sort((a, b) => a.seq.add.perPodMs - b.seq.add.perPodMs);
    out.push(same[(same.length - 1) >> 1]!);
  }
  return out;
}

const REFS: ModeId[] = ['debian', 'ref-nft'];

function fastestRef(runs: RunResult[], n: number, kind: 'seq' | 'par'): number | undefined {
  const v = runs.filter((r) => r.pods === n && REFS.includes(r.mode)).map((r) => r[kind].add.podsPerSec);
  return v.length ? Math.max(...v) : undefined;
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The mark on everything from a run with IPv6 off in the pods: it explains N-growth, it does not measure the targets. */
export const DIAGNOSTIC_NOTE = 'diagnostic run, pod IPv6 off';

/** The benchmark table: one block per pod count, one row per mode and concurrency. */
export function formatTable(runs: RunResult[], targets: Target[], workers: number, podIpv6 = true): string {
  const several = new Set(runs.map((r) => r.round)).size > 1;
  const head = [
    'mode',
    'N',
    'W',
    ...(several ? ['round'] : []),
    'ADD pods/s',
    'ADD p50/p95/p99 ms',
    'DEL pods/s',
    'DEL p50/p95/p99 ms',
    'ADD÷best ref',
    'per-pod ADD ms',
    'leaks',
  ];
  const rows: string[][] = [];
  for (const r of runs) {
    for (const kind of ['seq', 'par'] as const) {
      const s = r[kind];
      const ref = fastestRef(
        runs.filter((x) => x.round === r.round),
        r.pods,
        kind,
      );
      const err = s.add.errors + s.del.errors;
      rows.push([
        r.mode,
        s.add.pods < r.pods ? `${r.pods}(${s.add.pods})` : String(r.pods),
        kind === 'seq' ? '1' : String(workers),
        ...(several ? [String(r.round)] : []),
        fmt(s.add.podsPerSec),
        `${fmt(s.add.p50)}/${fmt(s.add.p95)}/${fmt(s.add.p99)}`,
        fmt(s.del.podsPerSec),
        `${fmt(s.del.p50)}/${fmt(s.del.p95)}/${fmt(s.del.p99)}`,
        ref ? `${(s.add.podsPerSec / ref).toFixed(2)}×` : '-',
        fmt(s.add.perPodMs),
        (r.leaks[kind].length ? `LEAK: ${r.leaks[kind].join('; ')}` : 'none') +
          (err ? ` (${err} errors, first: ${(s.add.firstError ?? s.del.firstError ?? '').slice(0, 120)})` : ''),
      ]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < (several ? 4 : 3) ? c.padEnd(widths[i]!) : i === cells.length - 1 ? c : c.padStart(widths[i]!))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const diagnostic =
    'DIAGNOSTIC RUN: the pods had IPv6 disabled (--pod-ipv6 off); the targets are defined with IPv6 on, so these verdicts do not count';
  if (!podIpv6) out.unshift(diagnostic, '');
  const rss = runs
    .filter((r) => r.agentRssMb !== undefined)
    .map((r) => `N=${r.pods}${several ? ` (round ${r.round})` : ''}: ${r.agentRssMb} MB`);
  if (rss.length) out.push('', `agent RSS after the run: ${rss.join(', ')}`);
  out.push(...phaseLines(runs));
  const leaky = runs.filter((r) => r.leaks.seq.length || r.leaks.par.length);
  out.push(
    '',
    leaky.length
      ? `LEAKS after DEL in: ${leaky.map((r) => `${r.mode}/N=${r.pods}`).join(', ')}`
      : 'leak check after every DEL phase: nothing left (links, IPAM files, nftables elements, iptables chains)',
  );
  out.push(
    '',
    several
      ? `targets (benchmarks/README.md), each the median of the ${byRound(runs).length} rounds' values (pairs from one round):`
      : 'targets (benchmarks/README.md):',
  );
  if (!podIpv6) out.push(`  ${diagnostic}`);
  for (const t of targets) {
    const each = t.perRound && t.perRound.length > 1 ? ` [rounds: ${t.perRound.map((v) => round(v, 2)).join(', ')}]` : '';
    out.push(
      `  [${t.status.toUpperCase().padEnd(4)}] ${t.name}: ${t.measured !== undefined ? round(t.measured, 2) : '-'}${each} (limit ${t.limit})${t.note ? ` — ${t.note}` : ''}`,
    );
  }
  return out.join('\n');
}

/** IPAM plugins, whose command runs inside the main plugin's IPAM delegation. */
const IPAM_TYPES = ['host-local', 'static', 'dhcp'];
/** Chained plugins in a chain's order; each one's native calls are named after it (native.portmapAdd). */
const CHAINED = ['portmap', 'firewall', 'tuning', 'bandwidth', 'sbr'];

/**
 * Order and depth of a phase in the breakdown: the agent's whole request (agent mode), the main plugin's
 * command, the IPAM delegation with the IPAM plugin's own command inside it, then native calls as
 * JavaScript sees them with the native steps inside bridgeAdd; then each chained plugin's command
 * (a --chain run) with its native calls inside it.
 */
function phasePlace(name: string): [order: number, depth: number] {
  if (name === 'agent.request') return [-1, 0];
  if (name.startsWith('ipam.')) return [1, 1];
  const chained = CHAINED.findIndex((c) => name.startsWith(`${c}.`) || name.startsWith(`native.${c}`));
  if (chained >= 0) return name.startsWith('native.') ? [6 + 2 * chained + 1, 1] : [6 + 2 * chained, 0];
  if (/^[a-z-]+\.(ADD|DEL|CHECK|GC|STATUS)$/.test(name)) return IPAM_TYPES.some((t) => name.startsWith(`${t}.`)) ? [2, 2] : [0, 0];
  if (name === 'native.bridgeAdd') return [3, 1];
  if (name.startsWith('bridgeAdd.')) return [4, 2];
  return [5, 1];
}

/** Where the sequential ADD time went: mean ms per pod for each phase. */
function phaseLines(runs: RunResult[]): string[] {
  const withPhases = runs.filter((r) => r.addPhases?.length);
  if (!withPhases.length) return [];
  const out = ['', 'where sequential ADD time goes (mean ms per pod; an indented phase is part of the one above it):'];
  for (const r of representative(withPhases)) {
    // every round of this mode and size, summed
    const all = withPhases.filter((x) => x.mode === r.mode && x.pods === r.pods);
    const pods = all.reduce((t, x) => t + x.seq.add.pods, 0);
    const wall = all.reduce((t, x) => t + x.seq.add.wallMs, 0);
    const totals = new Map<string, PhaseTotal>();
    for (const p of all.flatMap((x) => x.addPhases!)) {
      const t = totals.get(p.name);
      totals.set(p.name, t ? { ...t, totalMs: t.totalMs + p.totalMs, count: t.count + p.count } : { ...p });
    }
    const over = all.length > 1 ? `, over its ${all.length} rounds` : '';
    out.push(`  ${r.mode} N=${r.pods} (the harness measured ${fmt(wall / pods)} ms per pod${over})`);
    // stable sort: the native steps keep the order of an ADD
    const sorted = [...totals.values()].sort((a, b) => phasePlace(a.name)[0] - phasePlace(b.name)[0]);
    // in agent mode everything else is part of the agent's request
    const nest = sorted.some((p) => p.name === 'agent.request') ? 1 : 0;
    for (const p of sorted) {
      const depth = phasePlace(p.name)[1] + (p.name === 'agent.request' ? 0 : nest);
      out.push(`    ${'  '.repeat(depth)}${p.name.padEnd(24)} ${(p.totalMs / pods).toFixed(3)}`);
    }
  }
  return out;
}

/** A target as judged in one round: the check itself travels with the value. */
interface Check {
  name: string;
  measured: number | undefined;
  limit: string;
  ok: (v: number) => boolean;
  note?: string;
  /** how rounds combine: the median, or for a ceiling on memory the worst round */
  combine: 'median' | 'max';
}

/** The targets (benchmarks/README.md) in one round's runs, at N = 300 when it was run (else the largest N). */
function checksOf(runs: RunResult[], workers: number): Check[] {
  const sizes = [...new Set(runs.map((r) => r.pods))].sort((a, b) => a - b);
  const n = sizes.includes(300) ? 300 : sizes[sizes.length - 1];
  const get = (m: ModeId, size = n) => runs.find((r) => r.mode === m && r.pods === size);
  const out: Check[] = [];
  const check = (
    name: string,
    measured: number | undefined,
    limit: string,
    ok: (v: number) => boolean,
    note?: string,
    combine: Check['combine'] = 'median',
  ) =>
    out.push({
      name,
      measured: measured === undefined || Number.isNaN(measured) ? undefined : measured,
      limit,
      ok,
      combine,
      ...(note ? { note } : {}),
    });
  const kinds = [
    ['seq', 'sequential'],
    ['par', `${workers} workers`],
  ] as const;
  // Our fast path is the agent; until it exists, the same targets are shown for in-process as a proxy.
  const fast: ModeId = get('agent') ? 'agent' : 'inproc';
  const tag = fast === 'agent' ? 'launcher+agent' : 'in-process (agent n/a)';
  for (const [k, label] of kinds) {
    const a = get(fast)?.[k];
    const deb = get('debian')?.[k];
    const nft = get('ref-nft')?.[k];
    const fl = get('floor')?.[k];
    check(`N=${n} ${label}: ADD ${tag} ÷ Debian pods/s`, a && deb && a.add.podsPerSec / deb.add.podsPerSec, '≥ 10×', (v) => v >= 10);
    check(
      `N=${n} ${label}: ADD ${tag} ÷ newest ref (nft) pods/s`,
      a && nft && a.add.podsPerSec / nft.add.podsPerSec,
      '≥ 5×',
      (v) => v >= 5,
    );
    check(`N=${n} ${label}: ADD ${tag} per pod ÷ floor`, a && fl && a.add.perPodMs / fl.add.perPodMs, '≤ 2.5×', (v) => v <= 2.5);
    check(`N=${n} ${label}: DEL ${tag} per pod ÷ floor`, a && fl && a.del.perPodMs / fl.del.perPodMs, '≤ 1.25×', (v) => v <= 1.25);
    const ip = get('inproc')?.[k];
    check(`N=${n} ${label}: ADD in-process per pod ÷ floor`, ip && fl && ip.add.perPodMs / fl.add.perPodMs, '≤ 2×', (v) => v <= 2);
  }
  check(`N=${n}: ADD without agent p50 ms`, get('noagent')?.seq.add.p50, '≤ 100 ms', (v) => v <= 100);
  for (const m of ['agent', 'inproc', 'debian', 'ref-nft', 'floor'] as ModeId[]) {
    const big = get(m, 1000) ?? get(m, sizes[sizes.length - 1]);
    const small = get(m, 100);
    if (!big || !small || big === small) continue;
    check(
      `${m}: per-pod ADD N=${big.pods} ÷ N=100`,
      big.seq.add.perPodMs / small.seq.add.perPodMs,
      '≤ 1.25×',
      (v) => v <= 1.25,
      m === 'agent' ? undefined : 'shown for comparison',
    );
  }
  const rss = runs.filter((r) => r.mode === 'agent').sort((a, b) => b.pods - a.pods)[0];
  check(`agent RSS after N=${rss?.pods ?? '-'} (target at 1000)`, rss?.agentRssMb, '≤ 150 MB', (v) => v <= 150, undefined, 'max');
  return out;
}

/**
 * The targets (benchmarks/README.md). Each ratio pairs modes of the same round; with several rounds a target's
 * value is the median of its rounds' values (the agent's RSS: the largest), so that a verdict does
 * not hang on one round's noise.
 */
export function evaluateTargets(runs: RunResult[], workers: number, podIpv6 = true): Target[] {
  const rounds = byRound(runs).map((rs) => checksOf(rs, workers));
  const out: Target[] = [];
  for (const name of [...new Set(rounds.flat().map((c) => c.name))]) {
    const each = rounds.flatMap((cs) => cs.filter((c) => c.name === name));
    const first = each[0]!;
    const values = each.map((c) => c.measured).filter((v): v is number => v !== undefined);
    const measured = values.length === 0 ? undefined : first.combine === 'max' ? Math.max(...values) : median(values);
    out.push({
      name,
      measured,
      limit: first.limit,
      status: measured === undefined ? 'n/a' : first.ok(measured) ? 'pass' : 'miss',
      ...(first.note ? { note: first.note } : {}),
      ...(rounds.length > 1 ? { perRound: values } : {}),
    });
  }
  // Marked on every verdict, so that no single line quoted from the table or the JSON passes for a
  // measurement of the targets.
  if (!podIpv6) for (const t of out) t.note = t.note ? `${t.note}; ${DIAGNOSTIC_NOTE}` : DIAGNOSTIC_NOTE;
  return out;
}

const COLORS: Record<ModeId, string> = {
  debian: '#b5542b',
  'ref-nft': '#d9a441',
  agent: '#2f7d32',
  noagent: '#7b6fb0',
  inproc: '#2a77b5',
  floor: '#666666',
};
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Two panels: pods/s per mode at the largest N (log scale), and per-pod ADD time against N. */
export function chartSvg(allRuns: RunResult[], sizes: number[], workers: number, podIpv6 = true): string {
  const runs = representative(allRuns);
  const W = 960;
  const n = sizes[sizes.length - 1]!;
  const modes = MODE_IDS.filter((m) => runs.some((r) => r.mode === m));
  const series = [
    ['ADD seq', (r: RunResult) => r.seq.add.podsPerSec],
    [`ADD ×${workers}`, (r: RunResult) => r.par.add.podsPerSec],
    ['DEL seq', (r: RunResult) => r.seq.del.podsPerSec],
    [`DEL ×${workers}`, (r: RunResult) => r.par.del.podsPerSec],
  ] as const;
  const parts: string[] = [];
  const text = (x: number, y: number, s: string, extra = '') => parts.push(`<text x="${x}" y="${y}" ${extra}>${esc(s)}</text>`);
  // Panel 1: horizontal grouped bars, log10 x from 1 to the next power of ten above the max.
  const x0 = 260,
    x1 = W - 40,
    rowH = 14,
    groupH = rowH * series.length + 14;
  const top1 = 50;
  const vals = runs.filter((r) => r.pods === n).flatMap((r) => series.map(([, f]) => f(r)));
  const maxDec = Math.max(1, Math.ceil(Math.log10(Math.max(10, ...vals))));
  const lx = (v: number) => x0 + ((x1 - x0) * Math.max(0, Math.log10(Math.max(1, v)))) / maxDec;
  text(20, 28, `pods per second at N = ${n} (log scale; longer is faster)`, 'font-size="16" font-weight="bold"');
  if (!podIpv6) text(W - 20, 28, DIAGNOSTIC_NOTE, 'font-size="14" font-weight="bold" fill="#b00020" text-anchor="end"');
  const h1 = modes.length * groupH;
  for (let d = 0; d <= maxDec; d++) {
    const x = lx(10 ** d);
    parts.push(`<line x1="${x}" y1="${top1}" x2="${x}" y2="${top1 + h1}" stroke="#ddd"/>`);
    text(x, top1 + h1 + 14, String(10 ** d), 'font-size="11" text-anchor="middle"');
  }
  modes.forEach((m, i) => {
    const r = runs.find((x) => x.mode === m && x.pods === n);
    const y = top1 + i * groupH;
    text(20, y + groupH / 2, m, 'font-size="13" font-weight="bold"');
    if (!r) return;
    series.forEach(([name, f], j) => {
      const v = f(r);
      const yy = y + j * rowH;
      parts.push(
        `<rect x="${x0}" y="${yy}" width="${Math.max(1, lx(v) - x0)}" height="${rowH - 3}" fill="${COLORS[m]}" opacity="${j % 2 ? 0.6 : 1}"/>`,
      );
      text(x0 - 6, yy + 10, name, 'font-size="11" text-anchor="end"');
      text(lx(v) + 4, yy + 10, fmt(v), 'font-size="11"');
    });
  });
  // Panel 2: per-pod sequential ADD time (ms, log y) against N (log x).
  const top2 = top1 + h1 + 60,
    h2 = 300,
    px0 = 80,
    px1 = W - 220;
  text(20, top2 - 16, 'per-pod ADD time (ms, sequential) against N — log/log', 'font-size="16" font-weight="bold"');
  const ms = runs.map((r) => r.seq.add.perPodMs).filter((v) => v > 0);
  const yLo = Math.floor(Math.log10(Math.min(...ms, 1))),
    yHi = Math.ceil(Math.log10(Math.max(...ms, 10)));
  const xLo = Math.log10(Math.min(...sizes)),
    xHi = Math.max(xLo + 1, Math.log10(Math.max(...sizes)));
  const px = (N: number) => px0 + ((px1 - px0) * (Math.log10(N) - xLo)) / (xHi - xLo);
  const py = (v: number) => top2 + h2 - (h2 * (Math.log10(v) - yLo)) / (yHi - yLo);
  for (let d = yLo; d <= yHi; d++) {
    parts.push(`<line x1="${px0}" y1="${py(10 ** d)}" x2="${px1}" y2="${py(10 ** d)}" stroke="#ddd"/>`);
    text(px0 - 6, py(10 ** d) + 4, String(10 ** d), 'font-size="11" text-anchor="end"');
  }
  for (const N of sizes) text(px(N), top2 + h2 + 16, `N=${N}`, 'font-size="11" text-anchor="middle"');
  modes.forEach((m, i) => {
    const pts = sizes.map((N) => runs.find((r) => r.mode === m && r.pods === N)).filter((r): r is RunResult => !!r);
    const d = pts.map((r) => `${px(r.pods).toFixed(1)},${py(r.seq.add.perPodMs).toFixed(1)}`);
    parts.push(`<polyline points="${d.join(' ')}" fill="none" stroke="${COLORS[m]}" stroke-width="2"/>`);
    for (const p of d) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${COLORS[m]}"/>`);
    parts.push(`<rect x="${px1 + 20}" y="${top2 + i * 20}" width="12" height="12" fill="${COLORS[m]}"/>`);
    text(px1 + 38, top2 + i * 20 + 11, m, 'font-size="12"');
  });
  const H = top2 + h2 + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
