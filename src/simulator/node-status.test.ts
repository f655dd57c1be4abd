import { describe, expect, it } from 'vitest';
import { driverNodeStatus } from '../drivers/portworx/mapping.js';
import { parseNodeStatus, sdkStatusFor } from './node-status.js';

describe('parseNodeStatus', () => {
  it('maps each driver status to an SDK status the driver maps back to it', () => {
    for (const [driverStatus, sdk] of Object.entries(sdkStatusFor)) {
      expect(parseNodeStatus(driverStatus)).toBe(sdk);
      expect(driverNodeStatus(sdk)).toBe(driverStatus);
    }
  });

  it('passes SDK names through', () => {
    expect(parseNodeStatus('STATUS_STORAGE_REBALANCE')).toBe('STATUS_STORAGE_REBALANCE');
  });

  it('rejects anything else, naming it', () => {
    expect(() => parseNodeStatus('online')).toThrow('unknown node status "online"');
    expect(() => parseNodeStatus('toString')).toThrow('unknown node status "toString"');
  });
});
