// Public surface of src/agent: the socket server, its process runner, the status client and install.
export { startAgent, DEFAULT_SOCKET, type Agent, type AgentOptions } from './server.js';
export { runAgent, type RunAgentOptions } from './run.js';
export { agentStatus } from './status.js';
export { install, agentUnit, LAUNCHER_CONFIG, EXAMPLE_CONFLIST, type InstallOptions, type InstallResult } from './install.js';
export { prometheusText, type AgentStatus, type LatencyStats, type NetworkHealth } from './metrics.js';
export type { ClusterStatus, ClusterPeer } from '../cluster/index.js';
export { jsonLogger, type Logger, type LogLevel } from './log.js';
