import { describe, expect, it } from 'vitest';
import type { InformerHandlers } from '../k8s/informer.js';
import type { PersistentVolume } from '../wire/k8s-types.js';
import { announceNewVolumes } from './new-volumes.js';

const pv = (name: string, driver: string, handle: string): PersistentVolume => ({
  metadata: { name },
  spec: { csi: { driver, volumeHandle: handle } },
});

describe('announceNewVolumes', () => {
  it('asks each cache for the volumes of its own driver that PVs name, added or updated, until stopped', () => {
    let handlers: InformerHandlers<PersistentVolume> = {};
    let removed = false;
    const volumes = {
      addHandlers: (h: InformerHandlers<PersistentVolume>) => {
        handlers = h;
        return () => {
          removed = true;
        };
      },
    };
    const asked = { pxd: [] as string[], csi: [] as string[] };
    const target = (name: 'pxd' | 'csi', driver: string) => ({
      driver: {
        volumeIdOf: (v: PersistentVolume) =>
          v.spec?.csi?.driver === driver ? v.spec.csi.volumeHandle : undefined,
      },
      cache: { requestVolume: (id: string) => void asked[name].push(id) },
    });
    const stop = announceNewVolumes(volumes, [
      target('pxd', 'pxd.portworx.com'),
      target('csi', 'local.csi.example'),
    ]);
    handlers.onAdd?.(pv('a', 'pxd.portworx.com', 'vol-a'));
    handlers.onAdd?.(pv('b', 'local.csi.example', 'vol-b'));
    handlers.onUpdate?.(pv('a', 'pxd.portworx.com', 'vol-a'), pv('a', 'pxd.portworx.com', 'vol-a2'));
    handlers.onAdd?.(pv('c', 'other.example', 'vol-c'));
    expect(asked).toEqual({ pxd: ['vol-a', 'vol-a2'], csi: ['vol-b'] });
    stop();
    expect(removed).toBe(true);
  });
});
