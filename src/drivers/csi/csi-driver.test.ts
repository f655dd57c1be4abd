import { describe, expect, it } from 'vitest';
import type { CSINode } from '../../wire/k8s-types.js';
import { CsiDriver } from './csi-driver.js';
import { staticCsiView } from './csi-view.js';
import {
  claim,
  csiDriver,
  csiNode,
  localDriver,
  networkDriver,
  node,
  nodeKey,
  storageClass,
  volume,
} from './testing-fixtures.js';

function driverOver(nodes: { current: CSINode[] }) {
  const drivers = [csiDriver(localDriver, true), csiDriver(networkDriver, false)];
  return new CsiDriver({
    view: {
      ...staticCsiView({ drivers, served: [localDriver] }),
      csiNode: (name) => nodes.current.find((n) => n.metadata?.name === name),
    },
    servedDrivers: () => [localDriver],
    listNodes: () => [node('n1'), node('n2'), node('n3')],
    listVolumes: () => [
      volume('local-pv', localDriver, { [nodeKey]: ['n1'] }),
      volume('net-pv', localDriver),
      volume('other-pv', 'other.csi.example.com'),
    ],
  });
}

describe('CsiDriver', () => {
  it('reports a node Online while its CSINode lists the driver, Offline once the entry is gone', async () => {
    const nodes = {
      current: [csiNode('n1', [localDriver]), csiNode('n2', [localDriver]), csiNode('n3', [])],
    };
    const driver = driverOver(nodes);
    expect((await driver.listNodes()).map((n) => [n.id, n.status])).toEqual([
      [`${localDriver}/n1`, 'Online'],
      [`${localDriver}/n2`, 'Online'],
    ]);
    nodes.current = [csiNode('n1', [localDriver]), csiNode('n2', [networkDriver]), csiNode('n3', [])];
    expect((await driver.listNodes()).map((n) => [n.id, n.status])).toEqual([
      [`${localDriver}/n1`, 'Online'],
      [`${localDriver}/n2`, 'Offline'],
    ]);
    expect((await driver.inspectNode(`${localDriver}/n2`)).status).toBe('Offline');
    await expect(driver.inspectNode(`${localDriver}/n3`)).rejects.toThrow(/not found/);
  });

  it('lists the served drivers’ volumes, local ones with the one node their data is on', async () => {
    const driver = driverOver({ current: [] });
    const volumes = await driver.listVolumes();
    expect(volumes.map((v) => [v.id, v.localTo, v.replicaNodeIds])).toEqual([
      ['handle-local-pv', ['n1'], [`${localDriver}/n1`]],
      ['handle-net-pv', undefined, []],
    ]);
  });

  it('owns the claims of served drivers only, by PV or by provisioner', () => {
    const driver = driverOver({ current: [] });
    expect(driver.ownsClaim(claim('a', 'x', '1Gi'), undefined, storageClass('x', localDriver, true))).toBe(
      true,
    );
    expect(driver.ownsClaim(claim('a', 'x', '1Gi'), undefined, storageClass('x', networkDriver, true))).toBe(
      false,
    );
    expect(driver.ownsClaim(claim('a', 'x', '1Gi', 'p'), volume('p', localDriver), undefined)).toBe(true);
    expect(driver.volumeIdOf(volume('p', 'other.csi.example.com'))).toBeUndefined();
    expect(driver.csiDriverName).toBe(localDriver);
  });
});
