// Client side of the status request: what `fastcni agent status` prints.
import { connect } from 'node:net';
import { DEFAULT_SOCKET } from './server.js';
import type { AgentStatus } from './metrics.js';
import { decodeResponse, encodeStatusRequest } from './protocol.js';

/** Ask a running agent for its status; rejects when it is unreachable or refuses. */
export function agentStatus(socketPath: string = DEFAULT_SOCKET, timeoutMs = 5000): Promise<AgentStatus> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`agent at ${socketPath} did not answer within ${timeoutMs} ms`)));
    sock.on('connect', () => sock.write(encodeStatusRequest()));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      try {
        const r = decodeResponse(Buffer.concat(chunks));
        if (r.kind === 'status') resolve(r.status as AgentStatus);
        else if (r.kind === 'refused') reject(new Error(`agent refused the status request: ${r.reason}`));
        else reject(new Error('unexpected answer to a status request'));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
