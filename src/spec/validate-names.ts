// Validators of container IDs, network names and interface names (reference pkg/utils), as CniErrors.
import { CniError, ErrorCode } from './errors.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME_LENGTH = 15;

/** CNI_CONTAINERID: empty → code 3 "missing containerID"; bad characters → code 4 with the ID in details. */
export function validateContainerId(id: string): void {
  if (id === '') throw new CniError(ErrorCode.UnknownContainer, 'missing containerID');
  if (!NAME.test(id)) throw new CniError(ErrorCode.InvalidEnvironment, 'invalid characters in containerID', id);
}

/** The longest file name Linux takes (NAME_MAX): a network name is one (host-local's directory). */
export const MAX_NETWORK_NAME_BYTES = 255;

/** A network name: empty, bad characters or too long for a file name → code 7. */
export function validateNetworkName(name: string): void {
  if (name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name:');
  if (!NAME.test(name)) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid characters found in network name', name);
  if (name.length > MAX_NETWORK_NAME_BYTES) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      'network name is too long',
      `a network name is a file name of at most ${MAX_NETWORK_NAME_BYTES} bytes, not ${name.length}`,
    );
  }
}

/** CNI_IFNAME: not empty, ≤ 15 bytes, not "." or "..", no "/", ":" or whitespace → else code 4. */
export function validateInterfaceName(ifname: string): void {
  if (ifname.length === 0) throw new CniError(ErrorCode.InvalidEnvironment, 'interface name is empty');
  if (Buffer.byteLength(ifname, 'utf8') > MAX_IFNAME_LENGTH) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      'interface name is too long',
      `interface name should be less than ${MAX_IFNAME_LENGTH + 1} characters`,
    );
  }
  if (ifname === '.' || ifname === '..') throw new CniError(ErrorCode.InvalidEnvironment, 'interface name is . or ..');
  // Go's unicode.IsSpace: \t \n \v \f \r space U+0085 U+00A0 and the Unicode White_Space set.
  if (/[/:\s\u0085]/u.test(ifname)) {
    throw new CniError(ErrorCode.InvalidEnvironment, 'interface name contains / or : or whitespace characters');
  }
}
