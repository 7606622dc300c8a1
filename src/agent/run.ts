// Run the agent as a process: start it, serve until SIGTERM or SIGINT, then finish in-flight requests.
import { jsonLogger, type LogLevel } from './log.js';
import { startAgent, type AgentOptions } from './server.js';

export interface RunAgentOptions extends AgentOptions {
  /** when no logger is given (default info) */
  logLevel?: LogLevel;
}

/**
 * Start the agent and resolve once a SIGTERM or SIGINT has stopped it: new connections are refused
 * (the socket file is removed, so launchers fall back to Node) and in-flight requests are answered.
 */
export async function runAgent(options: RunAgentOptions = {}): Promise<void> {
  const logger = options.logger ?? jsonLogger(options.logLevel ?? 'info');
  const agent = await startAgent({ ...options, logger });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info('stopping', { signal, inFlight: agent.status().inFlight });
  await agent.close();
}
