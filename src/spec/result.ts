// The CNI result every plugin returns and every caller reads, in its newest form.

/** A CNI result in its newest form (1.1.0); the skeleton converts it to the request's cniVersion. */
export interface Result {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; mtu?: number; sandbox?: string; socketPath?: string; pciID?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string; mtu?: number; advmss?: number; priority?: number; table?: number; scope?: number }>;
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}
