// A request's paths as its caller means them. The agent serves launchers that may run in a mount
// namespace or under a root of their own (a runtime in a container, containerd keeping pod
// namespaces under its state directory): CNI_NETNS, CNI_PATH or a dataDir then name files that only
// the caller sees. The launcher sends its root and working directory as descriptors, and the paths
// of the request are opened through them; the caller's own strings stay wherever they are reported.
import { lstatSync, readlinkSync } from 'node:fs';

/** Where a request's caller is, as descriptors open in this process (/proc/self/fd/N). */
export interface CallerFiles {
  /** its working directory, where its relative paths start */
  cwd: string;
  /** its root directory and mount namespace; absent when both are this process's own */
  root?: string;
  mountNs?: string;
}

/** A request's paths as its caller means them (PluginContext.paths). */
export interface PathView {
  /** `path` as the caller means it, in a form this process opens ("" stays "") */
  local(path: string): string;
  /** `text` with what local() made of the request's paths turned back into the caller's strings */
  reported(text: string): string;
  /** where the caller is, for a child to run there; absent when that is where this process is */
  readonly caller?: CallerFiles;
}

/** The paths of a caller that is this process, or sees the same files from the same place. */
export const OWN_PATHS: PathView = { local: (path) => path, reported: (text) => text };

/** Symbolic links followed in one path at most, as in the kernel's path walk. */
const MAX_LINKS = 40;

/** Path components, for a stack that pops the first one first. */
function stack(path: string): string[] {
  return path
    .split('/')
    .filter((c) => c !== '' && c !== '.')
    .reverse();
}

/**
 * `path` under `root` (absolute) or `cwd` (relative), its symbolic links followed by hand, so that
 * an absolute target (Debian's /var/run → /run) starts again at the caller's root, not at ours, as
 * the kernel would for the caller (runc's filepath-securejoin does the same for container roots).
 * What does not exist (yet) is kept as written: a directory about to be made, a namespace gone.
 * A ".." above the working directory is left to the kernel, which knows where that is.
 */
function resolveUnder(root: string, cwd: string, path: string): string {
  let base = path.startsWith('/') ? root : cwd;
  const done: string[] = [];
  const todo = stack(path);
  let links = 0;
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === '..') {
      if (done.length > 0) done.pop();
      else if (base !== root) base = `${base}/..`;
      continue;
    }
    done.push(c);
    const here = `${base}/${done.join('/')}`;
    let target: string | undefined;
    try {
      const st = lstatSync(here, { throwIfNoEntry: false });
      if (st === undefined) break;
      target = st.isSymbolicLink() ? readlinkSync(here) : undefined;
    } catch {
      break; // not a directory on the way, or not searchable: the open reports it
    }
    if (target === undefined) continue;
    if (++links > MAX_LINKS) break;
    done.pop();
    if (target.startsWith('/')) {
      base = root;
      done.length = 0;
    }
    todo.push(...stack(target));
  }
  return [base, ...done, ...todo.reverse()].join('/');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The paths of one request whose caller sent the descriptors of where it is (the agent). */
export class CallerPaths implements PathView {
  /** the caller's string → its local form: a request asks for some paths more than once */
  private readonly made = new Map<string, string>();
  /** local form → the caller's string, for reported() */
  private readonly seen = new Map<string, string>();
  /** the caller's root as a prefix of local paths, followed by a "/" */
  private readonly rootPrefix?: RegExp;

  constructor(readonly caller: CallerFiles) {
    if (caller.root !== undefined) this.rootPrefix = new RegExp(`${escapeRegExp(caller.root)}(?=/)`, 'g');
  }

  local(path: string): string {
    if (path === '') return path;
    const { root, cwd } = this.caller;
    // Same root and mount namespace: the caller's absolute paths are ours, at no cost.
    if (root === undefined && path.startsWith('/')) return path;
    let local = this.made.get(path);
    if (local !== undefined) return local;
    local = root === undefined ? `${cwd}/${path}` : resolveUnder(root, cwd, path);
    this.made.set(path, local);
    this.seen.set(local, path);
    return local;
  }

  reported(text: string): string {
    if (this.seen.size === 0 || !text.includes('/proc/self/fd/')) return text;
    // longest first, so that a path is never rewritten through a prefix of it
    for (const [local, path] of [...this.seen].sort((a, b) => b[0].length - a[0].length)) text = text.replaceAll(local, path);
    // files reached below the request's paths (dataDir/network/lock) are the caller's under its root
    if (this.rootPrefix) text = text.replace(this.rootPrefix, '');
    return text.replaceAll(`${this.caller.cwd}/`, '');
  }
}
