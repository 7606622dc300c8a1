// The flannel meta plugin's network config, with the reference's defaults
// (https://github.com/flannel-io/cni-plugin/blob/main/flannel.go, NetConf).
// `delegate`, `ipam` and `runtimeConfig` are free-form maps, kept key for key: they are rendered
// into the delegate's config.
import { z } from 'zod';

/** Where flanneld writes the node's lease. */
export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
/** Where the rendered delegate configs are kept for DEL. */
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';

const jsonMap = z.record(z.string(), z.unknown()).nullish();

/** flannel's own fields; the common ones (cniVersion, name, type…) are checked by the skeleton. */
export const flannelConfigSchema = z
  .object({
    cniVersion: z.string().optional(),
    name: z.string(),
    // An empty path fails later in the reference (open "", mkdir ""): refused here, before anything runs.
    subnetFile: z.string().min(1, 'must not be empty').default(DEFAULT_SUBNET_FILE),
    dataDir: z.string().min(1, 'must not be empty').default(DEFAULT_DATA_DIR),
    delegate: jsonMap,
    ipam: jsonMap,
    runtimeConfig: jsonMap,
  })
  .loose();
export type FlannelConfig = z.infer<typeof flannelConfigSchema>;
