// Node statuses as people write them (the driver's names) and as the SDK carries them.
import type { DriverNodeStatus } from '../drivers/driver.js';
import { sdkStatusNames, type SdkStatus } from '../drivers/portworx/sdk-types.js';

/**
 * The SDK status the simulator reports for each driver status. Degraded could be any of three SDK values
 * (the driver maps all of them to Degraded); STATUS_STORAGE_DEGRADED is the plainest.
 */
export const sdkStatusFor: Readonly<Record<DriverNodeStatus, SdkStatus>> = {
  Online: 'STATUS_OK',
  Offline: 'STATUS_OFFLINE',
  StorageDown: 'STATUS_STORAGE_DOWN',
  Degraded: 'STATUS_STORAGE_DEGRADED',
  Initializing: 'STATUS_INIT',
  Maintenance: 'STATUS_MAINTENANCE',
  NotInQuorum: 'STATUS_NOT_IN_QUORUM',
  Unknown: 'STATUS_NONE',
};

/** A driver status name (`Online`, `Offline`, `StorageDown`, `Degraded`) or any SDK name (`STATUS_…`). */
export type SimNodeStatusInput = DriverNodeStatus | SdkStatus;

export function parseNodeStatus(input: string): SdkStatus {
  if (Object.hasOwn(sdkStatusFor, input)) return sdkStatusFor[input as DriverNodeStatus];
  const sdk = sdkStatusNames.find((name) => name === input);
  if (sdk) return sdk;
  throw new Error(
    `unknown node status "${input}": expected one of ${Object.keys(sdkStatusFor).join(', ')} or an SDK name such as STATUS_MAINTENANCE`,
  );
}
