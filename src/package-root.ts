// Where this package's own files are, found from this module's location: the same from src/ (tests),
// dist/src/ (the build) and node_modules/fastcni/dist/src/ (an installed package).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest directory upwards holding our package.json and native/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('fastcni package root not found');
}

/**
 * The package's plugin directory (dist/cni): the launcher under each plugin name, usable as a
 * CNI_PATH entry; the runtime runs the plugins it finds there in-process.
 */
export const pluginDir: string = join(packageRoot(), 'dist', 'cni');
