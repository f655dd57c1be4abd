// A stork that stops in the middle of a snapshot's rules: the next one must finish them (run the post
// rule of a snapshot that was cut, take again one that was not), over the same API and storage.
import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import type { VolumeDriver } from '../../drivers/driver.js';
import type { Rule } from '../../k8s/crds/rule.js';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import type { EventRecorder } from '../../k8s/events.js';
import type { ExecRequest, ExecResult } from '../../k8s/exec.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/wait.js';
import { SnapshotRules } from '../rules/snapshot-rules.js';
import { currentCondition, driverSnapshotName, snapshotDataName } from './names.js';
import { rulesInFlightAnnotation } from './rules-in-flight.js';
import { SnapshotController } from './snapshot-controller.js';
import { FakeStorage, apiView } from './testing.js';

const view = apiView;

const claim: PersistentVolumeClaim = {
  metadata: { namespace: 'shop', name: 'data' },
  spec: { volumeName: 'pv-data' },
  status: { phase: 'Bound' },
};
const volume: PersistentVolume = {
  metadata: { name: 'pv-data' },
  spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: 'vol-data' } },
};
const pod: Pod = {
  metadata: { namespace: 'shop', name: 'db-0', uid: 'uid-db-0' },
  spec: {
    containers: [{ name: 'main' }],
    volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }],
  },
  status: { phase: 'Running' },
};
const rule = (name: string, command: string): Rule => ({
  metadata: { namespace: 'shop', name },
  rules: [{ actions: [{ type: 'command', value: command }] }],
});
const snapshot = (uid: string, annotations: Record<string, string> = {}): VolumeSnapshot => ({
  metadata: {
    namespace: 'shop',
    name: `snap-${uid}`,
    uid,
    annotations: {
      'stork.libopenstorage.org/pre-snapshot-rule': 'freeze',
      'stork.libopenstorage.org/post-snapshot-rule': 'thaw',
      ...annotations,
    },
  },
  spec: { persistentVolumeClaimName: 'data' },
});

const driver = {
  name: 'pxd',
  volumeIdOf: (pv: PersistentVolume) => pv.spec?.csi?.volumeHandle,
} as unknown as VolumeDriver;

/** The shared world: the API server and the storage system outlive every stork. */
function world(...snapshots: VolumeSnapshot[]) {
  const api = new FakeKubeClient({
    statusSubresources: [resources.volumeSnapshots, resources.volumeSnapshotDatas],
  });
  api.seed(resources.persistentVolumeClaims, claim);
  api.seed(resources.persistentVolumes, volume);
  api.seed(resources.pods, pod);
  api.seed(resources.rules, rule('freeze', 'fsfreeze -f /data'), rule('thaw', 'fsfreeze -u /data'));
  api.seed(resources.volumeSnapshots, ...snapshots);
  return { api, storage: new FakeStorage() };
}

type Exec = (request: ExecRequest) => Promise<ExecResult>;
const ok: Exec = () => Promise.resolve({ stdout: '', stderr: '', exitCode: 0 });

/** One stork: a snapshot controller with the real rules, whose commands go to `exec` (and are logged). */
function stork(shared: ReturnType<typeof world>, exec: Exec = ok) {
  const { api, storage } = shared;
  const commands: string[] = [];
  const events: { type: string; reason: string; message: string }[] = [];
  const recorder = {
    record: (_: unknown, type: string, reason: string, message: string) =>
      events.push({ type, reason, message }),
  } as unknown as EventRecorder;
  const hooks = new SnapshotRules({
    api,
    logger: silentLogger,
    events: recorder,
    exec: (request) => {
      commands.push(request.command.at(-1) ?? '');
      return exec(request);
    },
    config: { commandAttempts: 1, retryIntervalMs: 1, releaseAttempts: 1, releaseRetryIntervalMs: 1 },
  });
  const controller = new SnapshotController({
    api,
    driver,
    snapshots: storage,
    hooks,
    pollIntervalMs: 10,
    resyncIntervalMs: 20,
    volumeSnapshots: view(api, resources.volumeSnapshots),
    claims: view(api, resources.persistentVolumeClaims),
    volumes: view(api, resources.persistentVolumes),
    events: recorder,
    logger: silentLogger,
  });
  const stop = new AbortController();
  const running = controller.run(stop.signal);
  return {
    commands,
    events,
    /** Leadership lost: the controller's signal aborts and it winds down. */
    async stop(): Promise<void> {
      stop.abort();
      await running.catch(() => undefined);
    },
    /** Killed: nothing of it runs any more (its pending work never resumes), nothing is cleaned up. */
    kill(): void {
      stop.abort();
    },
  };
}

const get = (api: FakeKubeClient, name: string) =>
  api.object<VolumeSnapshot>(resources.volumeSnapshots, name, 'shop');
const state = (s: VolumeSnapshot | undefined) => currentCondition(s?.status?.conditions)?.type;
const until = <T>(what: string, check: () => T | undefined | false) =>
  waitFor(what, () => check() || undefined, { timeoutMs: 5000, intervalMs: 5 });

/** An exec that never answers the post rule's command: the stork running it is stopped there. */
const hangsOnThaw: Exec = (request) =>
  request.command.at(-1)?.includes('fsfreeze -u') ? new Promise<never>(() => undefined) : ok(request);

describe('a restart between the snapshot and its post rule', () => {
  it('runs the post rule exactly once on the next stork, then the snapshot is Ready', async () => {
    const shared = world(snapshot('u1'));
    const first = stork(shared, hangsOnThaw);
    await until('the first stork in the post rule', () => first.commands.includes('fsfreeze -u /data'));
    expect([...shared.storage.snapshots.values()].map((s) => s.name)).toEqual([driverSnapshotName('u1')]);
    first.kill();

    const second = stork(shared);
    const ready = await until('Ready', () => {
      const s = get(shared.api, 'snap-u1');
      return state(s) === 'Ready' && s?.spec.snapshotDataName === snapshotDataName('u1') && s;
    });
    await second.stop();
    expect(second.commands).toEqual(['fsfreeze -u /data']);
    // The snapshot the first stork cut is the one handed out: not taken again.
    expect(shared.storage.log).toEqual([`snapshot vol-data as ${driverSnapshotName('u1')}`]);
    expect(ready.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  });

  it('the same when the first stork loses leadership in the post rule: it does not end the snapshot', async () => {
    const shared = world(snapshot('u2'));
    const aborts: Exec = (request) =>
      request.command.at(-1)?.includes('fsfreeze -u')
        ? new Promise((_, reject) =>
            request.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
          )
        : ok(request);
    const first = stork(shared, aborts);
    await until('the first stork in the post rule', () => first.commands.includes('fsfreeze -u /data'));
    await first.stop();
    expect(state(get(shared.api, 'snap-u2'))).toBe('Pending');

    const second = stork(shared);
    await until('Ready', () => state(get(shared.api, 'snap-u2')) === 'Ready');
    await second.stop();
    expect(second.commands).toEqual(['fsfreeze -u /data']);
  });
});

describe('the record of rules in flight', () => {
  it('says the pre rule runs, then that the snapshot was cut, and is gone once the post rule ran', async () => {
    const shared = world(snapshot('r1'));
    const seen: string[] = [];
    const watching: Exec = (request) => {
      const record = get(shared.api, 'snap-r1')?.metadata.annotations?.[rulesInFlightAnnotation];
      seen.push(`${request.command.at(-1) ?? ''}: ${record ?? 'none'}`);
      return ok(request);
    };
    const one = stork(shared, watching);
    const ready = await until('Ready', () => {
      const s = get(shared.api, 'snap-r1');
      return state(s) === 'Ready' && s;
    });
    await one.stop();
    expect(seen).toEqual([
      'fsfreeze -f /data: {"pre":"running","cut":false}',
      'fsfreeze -u /data: {"pre":"done","cut":true}',
    ]);
    expect(ready.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  });

  it('is not written on a snapshot without rules', async () => {
    const plain: VolumeSnapshot = {
      metadata: { namespace: 'shop', name: 'snap-r2', uid: 'r2' },
      spec: { persistentVolumeClaimName: 'data' },
    };
    const shared = world(plain);
    const one = stork(shared);
    await until('Ready', () => state(get(shared.api, 'snap-r2')) === 'Ready');
    await one.stop();
    // The finalizer, the data name: the snapshot's object writes, and no annotation among them.
    const objectWrites = shared.api
      .writes()
      .filter((w) => w.resource === 'volumesnapshots' && w.subresource === undefined);
    expect(objectWrites).toHaveLength(2);
    expect(one.commands).toEqual([]);
  });

  it('a value stork did not write is reported, removed and ignored', async () => {
    const shared = world(snapshot('r3', { [rulesInFlightAnnotation]: '{"cut":"maybe"}' }));
    const one = stork(shared);
    const ready = await until('Ready', () => {
      const s = get(shared.api, 'snap-r3');
      return state(s) === 'Ready' && s;
    });
    await one.stop();
    expect(one.events.map((e) => e.reason)).toContain('RulesInFlightIgnored');
    expect(one.commands).toEqual(['fsfreeze -f /data', 'fsfreeze -u /data']);
    expect(ready.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  });
});

describe('a restart between the pre rule and the cut', () => {
  it('takes the snapshot again from the pre rule when stork stopped in the pre rule', async () => {
    const shared = world(snapshot('c1'));
    const hangsOnFreeze: Exec = (request) =>
      request.command.at(-1)?.includes('fsfreeze -f') ? new Promise<never>(() => undefined) : ok(request);
    const first = stork(shared, hangsOnFreeze);
    await until('the first stork in the pre rule', () => first.commands.includes('fsfreeze -f /data'));
    first.kill();

    const second = stork(shared);
    await until('Ready', () => state(get(shared.api, 'snap-c1')) === 'Ready');
    await second.stop();
    // The interrupted pre rule undone first (below), then the whole snapshot again.
    expect(second.commands).toEqual(['fsfreeze -u /data', 'fsfreeze -f /data', 'fsfreeze -u /data']);
    expect(shared.storage.log).toEqual([`snapshot vol-data as ${driverSnapshotName('c1')}`]);
  });

  it('the same when the first stork loses leadership in the pre rule: it does not end the snapshot', async () => {
    const shared = world(snapshot('c3'));
    const aborts: Exec = (request) =>
      request.command.at(-1)?.includes('fsfreeze -f')
        ? new Promise((_, reject) =>
            request.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
          )
        : ok(request);
    const first = stork(shared, aborts);
    await until('the first stork in the pre rule', () => first.commands.includes('fsfreeze -f /data'));
    await first.stop();
    // Not the rule's failure: no Error, and the record stays for the next leader to undo and retake.
    expect(state(get(shared.api, 'snap-c3'))).not.toBe('Error');
    expect(get(shared.api, 'snap-c3')?.metadata.annotations?.[rulesInFlightAnnotation]).toBe(
      JSON.stringify({ pre: 'running', cut: false }),
    );

    const second = stork(shared);
    await until('Ready', () => state(get(shared.api, 'snap-c3')) === 'Ready');
    await second.stop();
    expect(second.commands).toEqual(['fsfreeze -u /data', 'fsfreeze -f /data', 'fsfreeze -u /data']);
  });

  it('discards the storage snapshot made while the hold died with the old stork, and takes it again', async () => {
    const shared = world(snapshot('c2'));
    // The storage system makes the snapshot, but the stork that asked is gone before it hears back.
    const storage = shared.storage;
    const create = storage.createSnapshot.bind(storage);
    let hang = true;
    storage.createSnapshot = (...args) =>
      hang ? create(...args).then(() => new Promise<never>(() => undefined)) : create(...args);
    const first = stork(shared);
    await until('the storage snapshot made', () => storage.snapshots.size === 1);
    first.kill();
    const [halfMade] = [...storage.snapshots.keys()];
    hang = false;

    const second = stork(shared);
    const ready = await until('Ready', () => {
      const s = get(shared.api, 'snap-c2');
      return state(s) === 'Ready' && s;
    });
    await second.stop();
    expect(second.commands).toEqual(['fsfreeze -u /data', 'fsfreeze -f /data', 'fsfreeze -u /data']);
    expect(storage.log).toEqual([
      `snapshot vol-data as ${driverSnapshotName('c2')}`,
      `delete snapshot ${halfMade ?? ''}`,
      `snapshot vol-data as ${driverSnapshotName('c2')}`,
    ]);
    expect(storage.snapshots.size).toBe(1);
    expect(second.events.map((e) => e.reason)).toContain('SnapshotRetaken');
    expect(ready.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  });
});

describe('an interrupted pre rule', () => {
  const hangsOnFreeze: Exec = (request) =>
    request.command.at(-1)?.includes('fsfreeze -f') ? new Promise<never>(() => undefined) : ok(request);
  /** The first thaw fails (the file system was never frozen), every later one succeeds. */
  const firstThawFails = (): Exec => {
    let thaws = 0;
    return (request) =>
      request.command.at(-1)?.includes('fsfreeze -u') && thaws++ === 0
        ? Promise.resolve({ stdout: '', stderr: 'fsfreeze: not frozen', exitCode: 1 })
        : ok(request);
  };
  it.each([
    { name: 'is undone by the post rule before the snapshot is taken again', exec: () => ok, warned: false },
    {
      name: 'is undone best-effort: a failing post rule there is a Warning, the snapshot still Ready',
      exec: firstThawFails,
      warned: true,
    },
  ])('$name', async ({ exec, warned }) => {
    const shared = world(snapshot('i1'));
    const first = stork(shared, hangsOnFreeze);
    await until('the first stork in the pre rule', () => first.commands.includes('fsfreeze -f /data'));
    first.kill();

    const second = stork(shared, exec());
    const ready = await until('Ready', () => {
      const s = get(shared.api, 'snap-i1');
      return state(s) === 'Ready' && s;
    });
    await second.stop();
    expect(second.commands).toEqual(['fsfreeze -u /data', 'fsfreeze -f /data', 'fsfreeze -u /data']);
    expect(shared.storage.log).toEqual([`snapshot vol-data as ${driverSnapshotName('i1')}`]);
    const undoFailed = second.events.filter((e) => e.reason === 'PreRuleUndoFailed');
    expect(undoFailed.map((e) => e.type)).toEqual(warned ? ['Warning'] : []);
    if (warned) expect(undoFailed[0]?.message).toContain('fsfreeze: not frozen');
    expect(ready.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  });

  it('is undone too when the snapshot is deleted meanwhile, which then goes', async () => {
    const shared = world(snapshot('i2'));
    const first = stork(shared, hangsOnFreeze);
    await until('the first stork in the pre rule', () => first.commands.includes('fsfreeze -f /data'));
    first.kill();
    await shared.api.delete(resources.volumeSnapshots, { namespace: 'shop', name: 'snap-i2' });

    const second = stork(shared);
    await until('gone', () => get(shared.api, 'snap-i2') === undefined);
    await second.stop();
    expect(second.commands).toEqual(['fsfreeze -u /data']);
    expect(shared.storage.log).toEqual([]);
  });
});

describe('a failing post rule', () => {
  const failsOnThaw: Exec = (request) =>
    request.command.at(-1)?.includes('fsfreeze -u')
      ? Promise.resolve({ stdout: '', stderr: 'fsfreeze: not frozen', exitCode: 1 })
      : ok(request);

  it('ends the snapshot in Error with the cause, and deletes its storage snapshot', async () => {
    const shared = world(snapshot('p1'));
    const one = stork(shared, failsOnThaw);
    const failed = await until('Error', () => {
      const s = get(shared.api, 'snap-p1');
      return state(s) === 'Error' && s;
    });
    await one.stop();
    const message = currentCondition(failed.status?.conditions)?.message ?? '';
    expect(message).toMatch(/^snapshot failed due to err: failed to run post-snap rule due to: /);
    expect(message).toContain('fsfreeze: not frozen');
    expect(shared.storage.snapshots.size).toBe(0);
    expect(shared.storage.log.at(-1)).toMatch(/^delete snapshot /);
    expect(shared.api.object(resources.volumeSnapshotDatas, snapshotDataName('p1'))).toBeUndefined();
    expect(failed.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  });

  it('the same when it is the next stork that runs it', async () => {
    const shared = world(snapshot('p2'));
    const first = stork(shared, hangsOnThaw);
    await until('the first stork in the post rule', () => first.commands.includes('fsfreeze -u /data'));
    first.kill();

    const second = stork(shared, failsOnThaw);
    const failed = await until('Error', () => {
      const s = get(shared.api, 'snap-p2');
      return state(s) === 'Error' && s;
    });
    await second.stop();
    expect(currentCondition(failed.status?.conditions)?.message).toContain('fsfreeze: not frozen');
    expect(second.commands).toEqual(['fsfreeze -u /data']);
    expect(shared.storage.snapshots.size).toBe(0);
    expect(failed.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  });
});

describe('a failing pre rule', () => {
  it('ends the snapshot in Error, takes nothing, and leaves no record', async () => {
    const shared = world(snapshot('f1'));
    const failsOnFreeze: Exec = (request) =>
      request.command.at(-1)?.includes('fsfreeze -f')
        ? Promise.resolve({ stdout: '', stderr: 'fsfreeze: busy', exitCode: 1 })
        : ok(request);
    const one = stork(shared, failsOnFreeze);
    const failed = await until('Error', () => {
      const s = get(shared.api, 'snap-f1');
      return state(s) === 'Error' && s;
    });
    await one.stop();
    expect(currentCondition(failed.status?.conditions)?.message).toContain('failed to run pre-snap rule');
    expect(one.commands).toEqual(['fsfreeze -f /data']);
    expect(shared.storage.log).toEqual([]);
    expect(failed.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  });
});

describe('a snapshot deleted while its post rule is due', () => {
  it('still runs the post rule, then goes with its storage snapshot', async () => {
    const shared = world(snapshot('d1'));
    const first = stork(shared, hangsOnThaw);
    await until('the first stork in the post rule', () => first.commands.includes('fsfreeze -u /data'));
    first.kill();
    await shared.api.delete(resources.volumeSnapshots, { namespace: 'shop', name: 'snap-d1' });

    const second = stork(shared);
    await until('gone', () => get(shared.api, 'snap-d1') === undefined);
    await second.stop();
    expect(second.commands).toEqual(['fsfreeze -u /data']);
    expect(shared.storage.snapshots.size).toBe(0);
  });
});
