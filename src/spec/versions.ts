// CNI spec versions: the known list, Go-compatible parsing and comparison (pkg/version).

/** Every spec version fastcni speaks, oldest first (the reference's version.All). */
export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The newest spec version; what VERSION answers and what results are held in internally. */
export const CURRENT_VERSION = '1.1.0';

/** Which result shape a version uses: 0.1/0.2 (`ip4`/`ip6`), 0.3/0.4 (`ips` with `version`), 1.x. */
export type ResultFamily = '020' | '040' | '100';

/** The result family of a version, or undefined for a version no result type implements. "" reads as 0.1.0. */
export function resultFamily(version: string): ResultFamily | undefined {
  switch (version) {
    case '':
    case '0.1.0':
    case '0.2.0':
      return '020';
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return '040';
    case '1.0.0':
    case '1.1.0':
      return '100';
    default:
      return undefined;
  }
}

function atoi(part: string, which: string, version: string): number {
  // Go strconv.Atoi: optional sign, decimal digits only.
  if (!/^[+-]?[0-9]+$/.test(part)) {
    throw new Error(`failed to convert ${which} version part "${part}": strconv.Atoi: parsing "${part}": invalid syntax`);
  }
  void version;
  return Number.parseInt(part, 10);
}

/** Parse "x.y.z" like Go's version.ParseVersion ("" = 0.1.0; missing parts are 0). Throws with Go's message. */
export function parseVersion(version: string): [number, number, number] {
  if (version === '') return [0, 1, 0];
  const parts = version.split('.');
  if (parts.length >= 4) throw new Error(`invalid version "${version}": too many parts`);
  const major = atoi(parts[0] ?? '', 'major', version);
  const minor = parts.length >= 2 ? atoi(parts[1] ?? '', 'minor', version) : 0;
  const micro = parts.length >= 3 ? atoi(parts[2] ?? '', 'micro', version) : 0;
  return [major, minor, micro];
}

/** a >= b by version number; throws (Go's message) when either is not a version. */
export function versionAtLeast(a: string, b: string): boolean {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    if (x[i]! !== y[i]!) return x[i]! > y[i]!;
  }
  return true;
}

/** Go's %q rendering of a string list: ["a" "b"]. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}
