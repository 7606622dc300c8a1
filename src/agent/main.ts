// Process entry of the agent until the `fastcni agent` command exists:
// node dist/src/agent/main.js [--socket PATH] [--metrics-port N] [--log-level debug|info|warn|error] [--max-frame BYTES]
import { parseArgs } from 'node:util';
import type { LogLevel } from './log.js';
import { runAgent } from './run.js';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    'metrics-port': { type: 'string' },
    'log-level': { type: 'string' },
    'max-frame': { type: 'string' },
  },
});
try {
  await runAgent({
    socketPath: values.socket,
    metricsPort: values['metrics-port'] !== undefined ? Number(values['metrics-port']) : undefined,
    logLevel: values['log-level'] as LogLevel | undefined,
    maxFrameBytes: values['max-frame'] !== undefined ? Number(values['max-frame']) : undefined,
  });
  process.exit(0);
} catch (e) {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'agent failed', error: (e as Error).message })}\n`,
  );
  process.exit(1);
}
