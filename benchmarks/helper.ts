// Client of the resident helper (benchmarks/floor): one long-lived process per worker inside the
// node namespace, started once under `ip netns exec`, so per-pod timings measure the plugin and not
// `ip netns exec`. It execs plugin binaries with a clean CNI environment, or does the kernel floor.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Sandbox } from './sandbox.js';

export interface HelperReply {
  code: number;
  stdout?: string;
  stderr?: string;
  /** microseconds the helper measured around the operation (spawn to exit for exec) */
  us: number;
}

export class Helper {
  private readonly waiting: Array<(r: HelperReply) => void> = [];
  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as HelperReply));
    child.on('exit', () => this.waiting.splice(0).forEach((w) => w({ code: -1, stderr: 'helper exited', us: 0 })));
  }

  static start(sandbox: Sandbox, binary: string, nodeNs: string): Helper {
    const child = sandbox.spawn('ip', ['netns', 'exec', nodeNs, binary], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new Helper(child);
  }

  request(req: Record<string, unknown>): Promise<HelperReply> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write(`${JSON.stringify(req)}\n`);
    });
  }

  exec(path: string, env: Record<string, string>, stdin: string): Promise<HelperReply> {
    return this.request({ op: 'exec', path, env, stdin });
  }
}
