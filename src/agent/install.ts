// `fastcni install`: put the launcher in a CNI bin dir under each plugin name, with the .fastcni.json it
// reads to fall back to Node; optionally an example conflist; and the systemd unit text for the agent.
import { chmodSync, copyFileSync, existsSync, mkdirSync, openSync, readSync, closeSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PLUGIN_MARKER } from '../ipam/delegate.js';
import { packageRoot } from '../package-root.js';
import { pluginTypes } from '../plugins.js';
import { DEFAULT_SOCKET } from './server.js';

/** Name of the file beside the launchers that says where Node, the plugin entry and the socket are. */
export const LAUNCHER_CONFIG = '.fastcni.json';
/** The example network written to --conf-dir. */
export const EXAMPLE_CONFLIST = '10-fastcni.conflist';

export interface InstallOptions {
  binDir: string;
  /** when given, an example conflist is written there (an existing one is kept unless force) */
  confDir?: string;
  /** replace files that are not ours (no marker in their first 4 KiB) */
  force?: boolean;
  /** the launcher binary to copy (default: FASTCNI_LAUNCHER, else this package's dist/bin/fastcni-launcher) */
  launcher?: string;
  /** Node for the fallback (default: this process's); a bare name is looked up in PATH, a relative path is taken from binDir */
  node?: string;
  /**
   * plugin entry for the fallback (default: this package's dist/entry/plugin-entry.cjs, the bundled
   * entry scripts/build-entry.mjs writes, else dist/src/cli/plugin-entry.js); a relative path is taken
   * from binDir, so a bin directory inside the package works wherever the package is installed
   */
  entry?: string;
  /** agent socket the launchers use (default /run/fastcni/agent.sock) */
  socketPath?: string;
  /** plugin names to install (default: all of ours) */
  plugins?: readonly string[];
}

export interface InstallResult {
  /** full paths of the launchers written */
  installed: string[];
  /** the .fastcni.json written */
  configFile: string;
  /** the example conflist, when written */
  conflist?: string;
  /** a systemd unit for the agent, to be saved as fastcni-agent.service */
  unit: string;
}

/** The fallback entry: the bundle (one file, V8 code cache: starts far faster) when built, else tsc's output. */
function defaultEntry(root: string): string {
  const bundled = join(root, 'dist', 'entry', 'plugin-entry.cjs');
  return existsSync(bundled) ? bundled : join(root, 'dist', 'src', 'cli', 'plugin-entry.js');
}

/** Whether the file at path carries our marker in its first 4 KiB; undefined when there is no file. */
function carriesMarker(path: string): boolean | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).includes(PLUGIN_MARKER);
  } finally {
    closeSync(fd);
  }
}

/** The systemd unit for the agent. */
export function agentUnit(o: { node: string; cli: string; socketPath: string }): string {
  return `[Unit]
Description=fastcni agent: serves CNI plugin invocations handed over by the fastcni launcher
Before=containerd.service crio.service kubelet.service

[Service]
Type=simple
ExecStart=${o.node} ${o.cli} agent --socket ${o.socketPath}
# Nothing lives only in memory: a restart loses nothing, and the launcher falls back meanwhile.
Restart=always
RestartSec=1
KillSignal=SIGTERM
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
`;
}

function exampleConflist(): string {
  const conf = {
    cniVersion: '1.0.0',
    name: 'fastcni',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/16' }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
    ],
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}

/** Write a file by rename, so a runtime never execs a half-copied launcher (and a running one is not ETXTBSY). */
function replaceAtomically(path: string, write: (tmp: string) => void, mode: number): void {
  const tmp = `${path}.fastcni-tmp-${process.pid}`;
  write(tmp);
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/**
 * Install the launcher under each plugin name in binDir (a copy each), plus .fastcni.json. Refuses,
 * before writing anything, when a file of that name exists and is not ours, unless force.
 */
export async function install(options: InstallOptions): Promise<InstallResult> {
  const root = packageRoot();
  const binDir = resolve(options.binDir);
  const launcher = options.launcher ?? process.env.FASTCNI_LAUNCHER ?? join(root, 'dist', 'bin', 'fastcni-launcher');
  const node = options.node ?? process.execPath;
  const entry = options.entry ?? defaultEntry(root);
  const socketPath = options.socketPath ?? DEFAULT_SOCKET;
  const plugins = options.plugins ?? pluginTypes;
  if (carriesMarker(launcher) !== true)
    throw new Error(`launcher ${launcher} missing or not a fastcni launcher: build it with npm run build:launcher`);

  mkdirSync(binDir, { recursive: true, mode: 0o755 });
  const foreign = plugins.filter((p) => carriesMarker(join(binDir, p)) === false);
  if (foreign.length > 0 && !options.force) {
    throw new Error(`not replacing files that are not fastcni plugins in ${binDir}: ${foreign.join(', ')} (use --force)`);
  }
  const installed: string[] = [];
  for (const p of plugins) {
    const dest = join(binDir, p);
    replaceAtomically(dest, (tmp) => copyFileSync(launcher, tmp), 0o755);
    installed.push(dest);
  }
  const configFile = join(binDir, LAUNCHER_CONFIG);
  replaceAtomically(configFile, (tmp) => writeFileSync(tmp, `${JSON.stringify({ node, entry, socket: socketPath }, null, 2)}\n`), 0o644);

  let conflist: string | undefined;
  if (options.confDir !== undefined) {
    mkdirSync(options.confDir, { recursive: true });
    const path = join(resolve(options.confDir), EXAMPLE_CONFLIST);
    if (!existsSync(path) || options.force) {
      writeFileSync(path, exampleConflist());
      conflist = path;
    }
  }
  // The CLI sits beside the unbundled entry (dist/src/cli/); the bundle is in dist/entry/.
  const entryPath = resolve(binDir, entry);
  const cli =
    basename(dirname(entryPath)) === 'entry'
      ? join(dirname(dirname(entryPath)), 'src', 'cli', 'fastcni.js')
      : join(dirname(entryPath), 'fastcni.js');
  return { installed, configFile, conflist, unit: agentUnit({ node, cli, socketPath }) };
}
