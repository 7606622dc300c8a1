// The repository stands on its own: no file points to notes that live outside it, and the
// architecture documents it does have exist and link only to files that are there.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/run-plugin.js';

/** Directories that hold what the build, npm or cargo made, never sources. */
const GENERATED = new Set(['node_modules', 'dist', 'target', '.cache', '.git']);

/** Every tracked file (git ls-files); outside a git checkout, every file but the generated ones. */
function trackedFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\0')
      .filter((f) => f !== '' && !GENERATED.has(f.split('/')[0]!) && existsSync(join(ROOT, f)));
  } catch {
    return readdirSync(ROOT, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile())
      .map((e) => relative(ROOT, join(e.parentPath, e.name)))
      .filter((f) => !GENERATED.has(f.split('/')[0]!));
  }
}

// Spelled in pieces so that this file does not mention them itself.
const NOTES = ['..', 'shared'].join('/');
const NOTES_ABSOLUTE = ['', 'work', 'shared'].join('/');
const SPEC_NOTES = ['SPEC', 'NOTES'].join('-');
/** A notes file of that directory named by its upper-case name (the testing or design notes, say). */
const NOTES_FILE = /\bshared\/[A-Z][A-Z-]*\.md\b/;

describe('the repository stands on its own', () => {
  const files = trackedFiles();

  it('no file points to notes outside the repository', () => {
    expect(files).toContain('README.md');
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      text.split('\n').forEach((line, i) => {
        const points = line.includes(NOTES) || line.includes(NOTES_ABSOLUTE) || line.includes(SPEC_NOTES) || NOTES_FILE.test(line);
        if (points) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('the architecture documents exist, the README points to them, and their links resolve', () => {
    expect(files).toEqual(expect.arrayContaining(['docs/ARCHITECTURE.md', 'docs/ADDING-A-PLUGIN.md']));
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('](docs/ARCHITECTURE.md)');
    expect(readme).toContain('](docs/ADDING-A-PLUGIN.md)');
    const broken: string[] = [];
    for (const doc of files.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!) || target!.startsWith('#')) continue;
        const path = target!.split('#')[0]!;
        if (!existsSync(join(ROOT, dirname(doc), path))) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
