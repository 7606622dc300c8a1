// Public surface of src/cluster: the controller the agent runs across nodes, its config and status.
export {
  ClusterController,
  SubnetsExhaustedError,
  type ClusterControllerOptions,
  type ClusterLog,
  type ClusterPeer,
  type ClusterStatus,
} from './controller.js';
export {
  ClusterConfigError,
  loadClusterConfig,
  parseClusterConfig,
  DEFAULT_STATE_DIR,
  type ClusterConfig,
  type ClusterConfigInput,
} from './config.js';
export { DEFAULT_SUBNET_FILE } from './config.js';
export type { OverlayBackend, OverlayPeer, OverlayRequest, OverlayState } from './backend.js';
export { subnetEnvText, writeSubnetEnv, type SubnetEnvContent } from './subnet-env.js';
