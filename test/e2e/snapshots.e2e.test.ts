import { readFile } from 'node:fs/promises';
import type { Event, PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { SnapshotHookError, type SnapshotHooks } from '../../src/controllers/snapshot/hooks.js';
import { restoreFinalizer } from '../../src/controllers/snapshot/names.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { isNotFound } from '../../src/k8s/errors.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { SimVolume } from '../../src/simulator/simulator-state.js';
import {
  applyManifests,
  createTestNamespace,
  deploySeedMysql,
  isRunning,
  testPod,
  waitForPod,
} from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';
import { seedCloneManifest, seedSnapshotManifest } from '../../src/box/seed-manifests.js';

/** Hooks the tests steer: snapshots annotated `test/hook: fail-before` fail their pre-snapshot hook. */
const hookCalls: { before: string[]; after: { name: string; ok: boolean }[] } = { before: [], after: [] };
/** Snapshots annotated `test/hook: hold` wait in their pre-snapshot hook until the test releases them. */
let releaseHeld: () => void = () => undefined;
const held = new Promise<void>((resolve) => (releaseHeld = resolve));
const testHooks: SnapshotHooks = {
  beforeSnapshot: async (snapshot) => {
    const name = snapshot.metadata.name ?? '';
    hookCalls.before.push(name);
    const mode = snapshot.metadata.annotations?.['test/hook'];
    if (mode === 'fail-before') {
      throw new SnapshotHookError(`rule for ${name} failed: command exited with 1`);
    }
    if (mode === 'hold') await held;
    return Promise.resolve({
      afterSnapshot: (ok) => {
        hookCalls.after.push({ name, ok });
        return Promise.resolve();
      },
    });
  },
  recover: () => Promise.resolve(),
};

describe('volume snapshots and restores in the box', () => {
  const ctx = useStorkBox({
    box: { nodes: ['node-1', 'node-2', 'node-3', 'node-4'].map((name) => ({ name })) },
    stork: { snapshotHooks: testHooks },
  });
  const api = () => ctx.box.api;
  const state = () => ctx.storage.simulator.state;

  beforeAll(async () => {
    await applyManifests(
      api(),
      await readFile(new URL('../../specs/stork-snapshot-sc.yaml', import.meta.url), 'utf8'),
      'default',
    );
    await deploySeedMysql(api(), 'default');
  });

  const getSnapshot = (namespace: string, name: string) =>
    api().get<VolumeSnapshot>(resources.volumeSnapshots, { namespace, name });
  const getClaim = (name: string, namespace: string) =>
    api().get<PersistentVolumeClaim>(resources.persistentVolumeClaims, { namespace, name });
  const lastCondition = (snapshot: VolumeSnapshot) => snapshot.status?.conditions?.at(-1);

  async function waitForCondition(namespace: string, name: string, type: 'Ready' | 'Error') {
    return waitFor(
      `snapshot ${namespace}/${name} ${type}`,
      async () => {
        const snapshot = await getSnapshot(namespace, name);
        return lastCondition(snapshot)?.type === type ? snapshot : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  async function waitForBound(namespace: string, name: string) {
    return waitFor(
      `claim ${namespace}/${name} Bound`,
      async () => {
        const pvc = await getClaim(name, namespace);
        return pvc.status?.phase === 'Bound' ? pvc : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  async function waitForGone(what: string, get: () => Promise<unknown>): Promise<void> {
    await waitFor(
      what,
      async () => {
        try {
          await get();
          return false;
        } catch (error) {
          if (isNotFound(error)) return true;
          throw error;
        }
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  async function claimEvent(namespace: string, name: string, reason: string, includes: string) {
    return waitFor(
      `event ${reason} on ${namespace}/${name} mentioning "${includes}"`,
      async () =>
        (
          await api().list<Event>(resources.events, namespace, {
            fieldSelector: `involvedObject.name=${name}`,
          })
        ).items.find((e) => e.reason === reason && (e.message ?? '').includes(includes)),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  /** The driver volume behind a bound claim. */
  async function volumeOf(namespace: string, claim: string): Promise<SimVolume> {
    const pvc = await getClaim(claim, namespace);
    const pv = await api().get<PersistentVolume>(resources.persistentVolumes, {
      name: pvc.spec?.volumeName ?? '',
    });
    return state().requireVolume(pv.spec?.csi?.volumeHandle ?? '');
  }

  const snapshotsNamed = (name: string) =>
    state()
      .volumes()
      .filter((v) => v.snapshot && v.name === name);
  const volumesNamed = (name: string) =>
    state()
      .volumes()
      .filter((v) => v.name === name);

  function snapshotObject(namespace: string, name: string, claim: string, annotations = {}): VolumeSnapshot {
    return {
      apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name, namespace, annotations },
      spec: { persistentVolumeClaimName: claim },
    };
  }

  function restoreClaim(
    name: string,
    snapshot: string,
    extra: { annotations?: Record<string, string>; selector?: boolean } = {},
  ): PersistentVolumeClaim {
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        annotations: { 'snapshot.alpha.kubernetes.io/snapshot': snapshot, ...extra.annotations },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'stork-snapshot-sc',
        resources: { requests: { storage: '1Gi' } },
        ...(extra.selector ? { selector: { matchLabels: { tier: 'gold' } } } : {}),
      },
    };
  }

  it("runs the seed's flow: mysql-data → mysql-snapshot → mysql-snap-clone, used by a pod on a replica node", async () => {
    await applyManifests(api(), seedSnapshotManifest(), 'default');
    const snapshot = await waitForCondition('default', 'mysql-snapshot', 'Ready');
    const uid = snapshot.metadata.uid ?? '';
    expect(snapshot.spec.snapshotDataName).toBe(`k8s-volume-snapshot-${uid}`);
    expect(lastCondition(snapshot)?.status).toBe('True');

    const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
      name: `k8s-volume-snapshot-${uid}`,
    });
    const parent = await volumeOf('default', 'mysql-data');
    const driverSnapshot = state().requireVolume(data.spec.portworxVolume?.snapshotId ?? '');
    expect(driverSnapshot.snapshot).toBe(true);
    expect(driverSnapshot.parentId).toBe(parent.id);
    expect(driverSnapshot.labels['kubernetes.io/created-for/snapshot/name']).toBe('mysql-snapshot');
    expect(data.spec.portworxVolume?.snapshotType).toBe('local');
    expect(data.spec.volumeSnapshotRef).toMatchObject({ namespace: 'default', name: 'mysql-snapshot', uid });
    expect(hookCalls.before).toContain('mysql-snapshot');
    expect(hookCalls.after).toContainEqual({ name: 'mysql-snapshot', ok: true });

    const listed = await ctx.box.kubectl(['get', 'volumesnapshot,volumesnapshotdatas', '-n', 'default']);
    expect(listed).toContain('mysql-snapshot');
    expect(listed).toContain(`k8s-volume-snapshot-${uid}`);

    await applyManifests(api(), seedCloneManifest, 'default');
    const clone = await waitForBound('default', 'mysql-snap-clone');
    expect(clone.spec?.volumeName).toBe(`pvc-${clone.metadata?.uid ?? ''}`);
    expect(clone.status?.capacity?.storage).toBe('2Gi');
    const pv = await api().get<PersistentVolume>(resources.persistentVolumes, {
      name: clone.spec?.volumeName ?? '',
    });
    expect(pv.metadata?.annotations).toMatchObject({
      snapshotProvisionerIdentity: 'stork',
      'pv.kubernetes.io/provisioned-by': 'stork-snapshot',
    });
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(pv.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(pv.spec?.storageClassName).toBe('stork-snapshot-sc');
    const restored = await volumeOf('default', 'mysql-snap-clone');
    expect(restored.name).toBe(`pvc-${clone.metadata?.uid ?? ''}`);
    expect(restored.parentId).toBe(driverSnapshot.id);
    expect(restored.snapshot).toBe(false);
    expect(restored.replicaNodeIds.length).toBeGreaterThan(0);
    await claimEvent('default', 'mysql-snap-clone', 'ProvisioningSucceeded', 'mysql-snapshot');
    expect(await ctx.box.kubectl(['get', 'pvc', '-n', 'default'])).toMatch(
      /mysql-snap-clone\s+Bound\s+pvc-\S+\s+2Gi\s+RWO\s+stork-snapshot-sc/,
    );

    await api().create(
      resources.pods,
      testPod('clone-user', { schedulerName: 'stork', claims: ['mysql-snap-clone'] }),
      'default',
    );
    const pod = await waitForPod(api(), 'default', 'clone-user', isRunning);
    expect(restored.replicaNodeIds).toContain(`px-${pod.spec?.nodeName ?? ''}`);
  });

  it('deletes a released restored volume (reclaim Delete), and a deleted snapshot with its data', async () => {
    const ns = await createTestNamespace(api(), 'snap-del');
    await createDriverVolume(ctx, ns, 'data', ['node-1']);
    await api().create(resources.volumeSnapshots, snapshotObject(ns, 'snap', 'data'), ns);
    const snapshot = await waitForCondition(ns, 'snap', 'Ready');
    await api().create(resources.persistentVolumeClaims, restoreClaim('copy', 'snap'), ns);
    const copy = await waitForBound(ns, 'copy');
    const volumeName = copy.spec?.volumeName ?? '';
    expect(volumesNamed(volumeName)).toHaveLength(1);

    await api().delete(resources.persistentVolumeClaims, { namespace: ns, name: 'copy' });
    await waitForGone(`PV ${volumeName}`, () => api().get(resources.persistentVolumes, { name: volumeName }));
    expect(volumesNamed(volumeName)).toHaveLength(0);

    const uid = snapshot.metadata.uid ?? '';
    expect(snapshotsNamed(`snapshot-${uid}`)).toHaveLength(1);
    await api().delete(resources.volumeSnapshots, { namespace: ns, name: 'snap' });
    await waitForGone('the snapshot', () => getSnapshot(ns, 'snap'));
    await waitForGone('its data', () =>
      api().get(resources.volumeSnapshotDatas, { name: `k8s-volume-snapshot-${uid}` }),
    );
    expect(snapshotsNamed(`snapshot-${uid}`)).toHaveLength(0);
  });

  it('ends in Error, with the cause, when the claim is missing or the pre-snapshot hook fails', async () => {
    const ns = await createTestNamespace(api(), 'snap-err');
    await api().create(resources.volumeSnapshots, snapshotObject(ns, 'orphan', 'no-such-claim'), ns);
    const orphan = await waitForCondition(ns, 'orphan', 'Error');
    expect(lastCondition(orphan)?.message).toBe(
      `snapshot failed due to err: PersistentVolumeClaim ${ns}/no-such-claim not found`,
    );

    await createDriverVolume(ctx, ns, 'data', ['node-2']);
    await api().create(
      resources.volumeSnapshots,
      snapshotObject(ns, 'cloudy', 'data', { 'portworx/snapshot-type': 'cloud' }),
      ns,
    );
    const cloudy = await waitForCondition(ns, 'cloudy', 'Error');
    expect(lastCondition(cloudy)?.message).toBe(
      'snapshot failed due to err: snapshot type "cloud" is not supported: only local snapshots are',
    );

    // The storage system lost the volume: its answer (not found) is final.
    await createDriverVolume(ctx, ns, 'lost', ['node-3']);
    state().deleteVolume(`${ns}-lost`);
    await api().create(resources.volumeSnapshots, snapshotObject(ns, 'of-lost', 'lost'), ns);
    const ofLost = await waitForCondition(ns, 'of-lost', 'Error');
    expect(lastCondition(ofLost)?.message).toBe(
      `snapshot failed due to err: pxd: volume "${ns}-lost" not found`,
    );
    expect(hookCalls.after).toContainEqual({ name: 'of-lost', ok: false });

    const before = state()
      .volumes()
      .filter((v) => v.snapshot).length;
    await api().create(
      resources.volumeSnapshots,
      snapshotObject(ns, 'hooked', 'data', { 'test/hook': 'fail-before' }),
      ns,
    );
    const hooked = await waitForCondition(ns, 'hooked', 'Error');
    expect(lastCondition(hooked)?.message).toBe(
      'snapshot failed due to err: rule for hooked failed: command exited with 1',
    );
    expect(
      state()
        .volumes()
        .filter((v) => v.snapshot).length,
    ).toBe(before);
    expect(hookCalls.after.some((a) => a.name === 'hooked')).toBe(false);
  });

  it('refuses restores it cannot do with a ProvisioningFailed event, and retries them', async () => {
    const source = await createTestNamespace(api(), 'snap-src');
    const target = await createTestNamespace(api(), 'snap-dst');
    await createDriverVolume(ctx, source, 'data', ['node-3']);

    // No such snapshot yet: refused, then restored once the snapshot exists and is ready.
    await api().create(resources.persistentVolumeClaims, restoreClaim('early', 'later'), source);
    await claimEvent(source, 'early', 'ProvisioningFailed', `snapshot ${source}/later not found`);
    expect((await getClaim('early', source)).status?.phase).toBe('Pending');
    await api().create(resources.volumeSnapshots, snapshotObject(source, 'later', 'data'), source);
    await waitForBound(source, 'early');

    // A snapshot still being taken: refused until it is Ready, then restored without delay.
    await api().create(
      resources.volumeSnapshots,
      snapshotObject(source, 'slow', 'data', { 'test/hook': 'hold' }),
      source,
    );
    await waitFor('the slow snapshot in its pre-snapshot hook', () => hookCalls.before.includes('slow'), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(lastCondition(await getSnapshot(source, 'slow'))?.type).toBe('Pending');
    await api().create(resources.persistentVolumeClaims, restoreClaim('waiting', 'slow'), source);
    await claimEvent(source, 'waiting', 'ProvisioningFailed', `snapshot ${source}/slow is not ready yet`);
    releaseHeld();
    await waitForCondition(source, 'slow', 'Ready');
    await waitForBound(source, 'waiting');

    // A selector is refused for good.
    await api().create(
      resources.persistentVolumeClaims,
      restoreClaim('picky', 'later', { selector: true }),
      source,
    );
    await claimEvent(source, 'picky', 'ProvisioningFailed', 'Selector is not supported');

    // Another namespace needs the snapshot's permission.
    const crossNs = { 'stork/snapshot-source-namespace': source };
    await api().create(
      resources.persistentVolumeClaims,
      restoreClaim('cross', 'later', { annotations: crossNs }),
      target,
    );
    await claimEvent(target, 'cross', 'ProvisioningFailed', 'annotation (not set)');
    expect((await getClaim('cross', target)).status?.phase).toBe('Pending');
    // A pattern V8's backtracking engine would spend seconds on is just no match; an invalid one is named.
    await api().patch(
      resources.volumeSnapshots,
      { namespace: source, name: 'later' },
      { metadata: { annotations: { 'stork/snapshot-restore-namespaces': '((s+)+)+$,(snap' } } },
    );
    await claimEvent(
      target,
      'cross',
      'ProvisioningFailed',
      'invalid pattern(s) allow nothing: "(snap": missing )',
    );
    expect((await getClaim('cross', target)).status?.phase).toBe('Pending');
    // A regex that matches only part of the name does not count (anchored ^…$): the claim is looked at
    // again when the snapshot changes, and refused again, naming the patterns it was checked against.
    await api().patch(
      resources.volumeSnapshots,
      { namespace: source, name: 'later' },
      { metadata: { annotations: { 'stork/snapshot-restore-namespaces': 'other,snap-dst' } } },
    );
    await claimEvent(target, 'cross', 'ProvisioningFailed', 'annotation ("other,snap-dst")');
    expect((await getClaim('cross', target)).status?.phase).toBe('Pending');
    await api().patch(
      resources.volumeSnapshots,
      { namespace: source, name: 'later' },
      { metadata: { annotations: { 'stork/snapshot-restore-namespaces': 'other,snap-dst-.*' } } },
    );
    const cross = await waitForBound(target, 'cross');
    const snapshot = await getSnapshot(source, 'later');
    const restored = await volumeOf(target, 'cross');
    expect(restored.name).toBe(`pvc-${cross.metadata?.uid ?? ''}`);
    expect(state().volume(restored.parentId ?? '')?.name).toBe(`snapshot-${snapshot.metadata.uid ?? ''}`);
  });

  it("restores nothing through a forged snapshot: status is stork's alone, data found by the snapshot's UID", async () => {
    const victim = await createTestNamespace(api(), 'snap-victim');
    const attacker = await createTestNamespace(api(), 'snap-attacker');
    await createDriverVolume(ctx, victim, 'secrets', ['node-1']);
    await api().create(resources.volumeSnapshots, snapshotObject(victim, 'private', 'secrets'), victim);
    const victimSnapshot = await waitForCondition(victim, 'private', 'Ready');
    const victimData = victimSnapshot.spec.snapshotDataName ?? '';
    expect(victimData).toBe(`k8s-volume-snapshot-${victimSnapshot.metadata.uid ?? ''}`);

    // A snapshot naming the victim's data, already "Ready": the API server drops the status on create.
    const forged: VolumeSnapshot = {
      ...snapshotObject(attacker, 'forged', 'no-such-claim'),
      spec: { persistentVolumeClaimName: 'no-such-claim', snapshotDataName: victimData },
      status: { conditions: [{ type: 'Ready', status: 'True', message: 'forged' }] },
    };
    const created = await api().create<VolumeSnapshot>(resources.volumeSnapshots, forged, attacker);
    expect(created.status?.conditions ?? []).toEqual([]);
    await api().create(resources.persistentVolumeClaims, restoreClaim('loot', 'forged'), attacker);
    // Writing status with the object is ignored too.
    await api().patch(
      resources.volumeSnapshots,
      { namespace: attacker, name: 'forged' },
      { status: { conditions: [{ type: 'Ready', status: 'True', message: 'forged again' }] } },
    );
    await claimEvent(attacker, 'loot', 'ProvisioningFailed', `snapshot ${attacker}/forged`);
    await claimEvent(attacker, 'forged', 'SnapshotDataNameIgnored', victimData);
    const ended = await waitForCondition(attacker, 'forged', 'Error');
    expect(ended.spec.snapshotDataName).toBeUndefined();
    const loot = await getClaim('loot', attacker);
    expect(loot.status?.phase).toBe('Pending');
    expect(volumesNamed(`pvc-${loot.metadata?.uid ?? ''}`)).toHaveLength(0);

    // The attacker's own, real snapshot, then pointed at the victim's data: a restore from it gets the
    // attacker's own data, and stork puts the name back.
    await createDriverVolume(ctx, attacker, 'mine', ['node-2']);
    await api().create(resources.volumeSnapshots, snapshotObject(attacker, 'own', 'mine'), attacker);
    const own = await waitForCondition(attacker, 'own', 'Ready');
    const ownData = `k8s-volume-snapshot-${own.metadata.uid ?? ''}`;
    await api().patch(
      resources.volumeSnapshots,
      { namespace: attacker, name: 'own' },
      { spec: { snapshotDataName: victimData } },
    );
    await api().create(resources.persistentVolumeClaims, restoreClaim('loot-2', 'own'), attacker);
    const bound = await waitForBound(attacker, 'loot-2');
    await claimEvent(attacker, 'own', 'SnapshotDataNameIgnored', victimData);
    await waitFor(
      'the data name put back',
      async () => (await getSnapshot(attacker, 'own')).spec.snapshotDataName === ownData,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const restored = await volumeOf(attacker, 'loot-2');
    expect(restored.name).toBe(`pvc-${bound.metadata?.uid ?? ''}`);
    expect(state().volume(restored.parentId ?? '')?.name).toBe(`snapshot-${own.metadata.uid ?? ''}`);
    expect(state().volume(restored.parentId ?? '')?.parentId).toBe(
      state().requireVolume(`${attacker}-mine`).id,
    );
  });

  it('keeps a deleted snapshot while a restore from it is pending, and lets it go after', async () => {
    const source = await createTestNamespace(api(), 'snap-keep');
    const target = await createTestNamespace(api(), 'snap-wait');
    await createDriverVolume(ctx, source, 'data', ['node-4']);
    await api().create(resources.volumeSnapshots, snapshotObject(source, 'snap', 'data'), source);
    const snapshot = await waitForCondition(source, 'snap', 'Ready');
    const uid = snapshot.metadata.uid ?? '';
    const crossNs = { 'stork/snapshot-source-namespace': source };
    // Two pending restores (not allowed yet): one will be bound, the other deleted.
    for (const name of ['bound-later', 'deleted-later']) {
      await api().create(
        resources.persistentVolumeClaims,
        restoreClaim(name, 'snap', { annotations: crossNs }),
        target,
      );
      await claimEvent(target, name, 'ProvisioningFailed', 'not allowed');
    }
    // A clone made for a claim that goes away before it is bound does not outlive it: as if made by an
    // attempt that was allowed at the time, which holds the claim (its finalizer) before cloning.
    const doomed = await api().patch<PersistentVolumeClaim>(
      resources.persistentVolumeClaims,
      { namespace: target, name: 'deleted-later' },
      { metadata: { finalizers: ['kubernetes.io/pvc-protection', restoreFinalizer] } },
    );
    const [driverSnapshot] = snapshotsNamed(`snapshot-${uid}`);
    const orphan = state().cloneVolume(`pvc-${doomed.metadata?.uid ?? ''}`, driverSnapshot?.id ?? '');
    await api().delete(resources.volumeSnapshots, { namespace: source, name: 'snap' });
    await waitFor(
      'the SnapshotInUse event',
      async () =>
        (
          await api().list<Event>(resources.events, source, { fieldSelector: 'involvedObject.name=snap' })
        ).items.find((e) => e.reason === 'SnapshotInUse'),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect((await getSnapshot(source, 'snap')).metadata.deletionTimestamp).toBeTruthy();
    expect(snapshotsNamed(`snapshot-${uid}`)).toHaveLength(1);

    // Allowed now: the restore proceeds from the snapshot being deleted.
    await api().delete(resources.persistentVolumeClaims, { namespace: target, name: 'deleted-later' });
    await api().patch(
      resources.volumeSnapshots,
      { namespace: source, name: 'snap' },
      { metadata: { annotations: { 'stork/snapshot-restore-namespaces': 'snap-wait-.*' } } },
    );
    await waitFor('the orphaned clone deleted', () => state().volume(orphan.id) === undefined, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    // ...and then the claim goes: stork took its finalizer off.
    await waitForGone('the deleted claim', () => getClaim('deleted-later', target));
    await waitForBound(target, 'bound-later');
    await waitForGone('the deleted snapshot', () => getSnapshot(source, 'snap'));
    expect(snapshotsNamed(`snapshot-${uid}`)).toHaveLength(0);
    // The restored volume is independent of the snapshot it came from.
    expect((await volumeOf(target, 'bound-later')).snapshot).toBe(false);
  });

  it('adopts a driver snapshot and a restored volume made before a restart, never making a second', async () => {
    const ns = await createTestNamespace(api(), 'snap-restart');
    await createDriverVolume(ctx, ns, 'data', ['node-1', 'node-2']);
    const parent = state().requireVolume(`${ns}-data`);

    // Stork stops between its driver snapshot call and the data object: played by taking the driver
    // snapshot under the name stork derives from the VolumeSnapshot's UID while stork is down.
    await ctx.stopStork();
    const created = await api().create<VolumeSnapshot>(
      resources.volumeSnapshots,
      snapshotObject(ns, 'snap', 'data'),
      ns,
    );
    const uid = created.metadata.uid ?? '';
    const taken = state().snapshotVolume(parent.id, `snapshot-${uid}`, {});
    // And one step later for another: the data object made too, the VolumeSnapshot not yet bound to it.
    const second = await api().create<VolumeSnapshot>(
      resources.volumeSnapshots,
      snapshotObject(ns, 'snap-2', 'data'),
      ns,
    );
    const uid2 = second.metadata.uid ?? '';
    const taken2 = state().snapshotVolume(parent.id, `snapshot-${uid2}`, {});
    await api().create<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
      apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
      kind: 'VolumeSnapshotData',
      metadata: { name: `k8s-volume-snapshot-${uid2}` },
      spec: { portworxVolume: { snapshotId: taken2.id, snapshotType: 'local' } },
    });
    const hooksBefore = hookCalls.before.length;
    await ctx.startStork();
    const snapshot2 = await waitForCondition(ns, 'snap-2', 'Ready');
    expect(snapshot2.spec.snapshotDataName).toBe(`k8s-volume-snapshot-${uid2}`);
    const snapshot = await waitForCondition(ns, 'snap', 'Ready');
    const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
      name: snapshot.spec.snapshotDataName ?? '',
    });
    expect(data.spec.portworxVolume?.snapshotId).toBe(taken.id);
    expect(
      state()
        .volumes()
        .filter((v) => v.snapshot && v.parentId === parent.id)
        .map((v) => v.id)
        .sort(),
    ).toEqual([taken.id, taken2.id].sort());
    expect(hookCalls.before.length).toBe(hooksBefore); // no second snapshot, so no second pre-rule

    // Stork stops after cloning the restored volume but before creating the PV.
    await ctx.stopStork();
    const claim = await api().create<PersistentVolumeClaim>(
      resources.persistentVolumeClaims,
      restoreClaim('copy', 'snap'),
      ns,
    );
    const clone = state().cloneVolume(`pvc-${claim.metadata?.uid ?? ''}`, taken.id);
    await ctx.startStork();
    await waitForBound(ns, 'copy');
    expect((await volumeOf(ns, 'copy')).id).toBe(clone.id);
    expect(volumesNamed(clone.name)).toHaveLength(1);
  });
});
