// resolvConf: a host resolv.conf read into the result's dns, line by line as the reference does.
import { readFileSync } from 'node:fs';
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { Result } from '../../src/spec/result.js';

const errnoText: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
};

/** Parse a resolv.conf: nameserver, domain, search, options; `#` and `;` start comment lines. */
export function parseResolvConf(path: string): NonNullable<Result['dns']> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new CniError(ErrorCode.Internal, `open ${path}: ${errnoText[code] ?? (e as Error).message}`, undefined, { cause: e });
  }
  const dns: NonNullable<Result['dns']> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [key, ...rest] = fields;
    switch (key) {
      case 'nameserver':
        (dns.nameservers ??= []).push(rest[0]!);
        break;
      case 'domain':
        dns.domain = rest[0]!;
        break;
      case 'search':
        (dns.search ??= []).push(...rest);
        break;
      case 'options':
        (dns.options ??= []).push(...rest);
        break;
    }
  }
  return dns;
}
