// Public surface of src/spec: CNI errors, config and result schemas, version conversion, CNI_ARGS, validators.
export { ErrorCode, CniError, NativeError, toCniError, type NativeFailure } from './errors.js';
export { ALL_VERSIONS, CURRENT_VERSION, parseVersion, versionAtLeast, resultFamily, type ResultFamily } from './versions.js';
export { canonicalizeKeys } from './case-keys.js';
export { zodToCniError, parseWithSchema, unsupportedField, formatPath } from './zod-errors.js';
export { looseBool, ipString, cidrString, goInt } from './fields.js';
export { parseIp, parseCidr, canonicalIp, canonicalCidr, ipFamily, type Ip as ParsedIp, type Cidr as ParsedCidr } from '../net/ip.js';
export { goStringify, parseJson } from './go-json.js';
export { netConfSchema, dnsSchema, ipamSchema, attachmentSchema, configVersion, type NetConf, type Dns, type Ipam } from './net-conf.js';
export { confListSchema, pluginConfSchema, selectListVersion, type ConfList, type PluginConf } from './conflist.js';
export {
  runtimeConfigSchema,
  capabilitiesSchema,
  argsSchema,
  portMappingSchema,
  ipRangeSchema,
  bandwidthSchema,
  type RuntimeConfig,
  type Capabilities,
  type Args,
  type PortMapping,
  type IpRange,
} from './runtime-config.js';
export { parseCniArgs, splitCniArgs } from './cni-args.js';
export { validateContainerId, validateNetworkName, validateInterfaceName, MAX_IFNAME_LENGTH } from './validate-names.js';
export {
  routeSchema,
  result020Schema,
  result040Schema,
  result100Schema,
  type Route,
  type Result020,
  type Result040,
  type Result100,
  type VersionedResult,
} from './result-schemas.js';
export type { Result } from './result.js';
export { convertResult, parseResult, toCurrentResult, resultForVersion } from './result-convert.js';
export { formatResult, resultToGoJson } from './result-print.js';
