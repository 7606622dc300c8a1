// The package's install script: keeps the prebuilt addon and launcher when they fit this machine, and
// otherwise builds both from the Rust sources shipped in the package (cargo needed), then rewrites
// dist/cni/ (the launcher under each plugin name).
//
//   node scripts/build-native.mjs            build only what does not fit
//   FASTCNI_BUILD_FROM_SOURCE=1 node …       build whatever is there
//
// npm blocks a dependency's install script unless allowed (`npm install --allow-scripts=fastcni`, or
// `npm install-scripts approve fastcni`); where the prebuilt files fit, nothing needs to run. In the
// repository itself `scripts/setup.sh` builds, so this script does nothing there.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'native', 'addon', 'index.node');
const launcher = join(root, 'dist', 'bin', 'fastcni-launcher');
const force = process.env.FASTCNI_BUILD_FROM_SOURCE === '1';

// The repository has its TypeScript sources; a packed fastcni has only dist/.
if (existsSync(join(root, 'src', 'native.ts')) && !force) process.exit(0);

/** ELF e_machine of each Node architecture we can meet (the launcher is a static ELF executable). */
const MACHINES = { x64: 62, arm64: 183, ia32: 3, arm: 40, riscv64: 243, ppc64: 21, s390x: 22 };

function addonLoads() {
  try {
    createRequire(import.meta.url)(addon);
    return true;
  } catch {
    return false;
  }
}

function launcherFits() {
  if (!existsSync(launcher)) return false;
  const fd = openSync(launcher, 'r');
  try {
    const head = Buffer.alloc(20);
    readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, 4).toString('latin1') === '\x7fELF' && head.readUInt16LE(18) === MACHINES[process.arch];
  } finally {
    closeSync(fd);
  }
}

const needAddon = force || !addonLoads();
const needLauncher = force || !launcherFits();
if (!needAddon && !needLauncher) process.exit(0);

const what = [needAddon && 'addon', needLauncher && 'launcher'].filter(Boolean).join(' and ');
try {
  execFileSync('cargo', ['--version'], { stdio: 'ignore' });
} catch {
  console.error(
    `fastcni: no prebuilt ${what} fits this machine (${process.platform}-${process.arch}) and cargo (Rust) is not installed to build it`,
  );
  process.exit(1);
}
console.error(`fastcni: building the ${what} from source (cargo build --release)`);
const cargo = (args) => execFileSync('cargo', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
const { target_directory: targetDir } = JSON.parse(
  execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps', '--offline'], { cwd: root, encoding: 'utf8' }),
);
if (needAddon) {
  cargo(['build', '--release', '--locked', '-p', 'fastcni-addon']);
  copyFileSync(join(targetDir, 'release', 'libfastcni_addon.so'), addon);
}
if (needLauncher) {
  cargo([
    'rustc',
    '--release',
    '--locked',
    '-p',
    'fastcni-launcher',
    '--bin',
    'fastcni-launcher',
    '--',
    '-C',
    'target-feature=+crt-static',
  ]);
  mkdirSync(dirname(launcher), { recursive: true });
  copyFileSync(join(targetDir, 'release', 'fastcni-launcher'), launcher);
  chmodSync(launcher, 0o755);
  await import('./make-bin-dir.mjs');
}
