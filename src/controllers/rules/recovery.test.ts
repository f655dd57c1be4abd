import type { Pod } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import type { EventRecorder } from '../../k8s/events.js';
import type { ExecRequest, ExecResult } from '../../k8s/exec.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { silentLogger } from '../../lib/log.js';
import { SnapshotRules } from './snapshot-rules.js';
import { runningCommandsAnnotation } from './tracking.js';

const task = '0b7e9a52-94b4-4d1e-9a43-6f1a3b2c5d10';

const pod = (namespace: string, name: string, claim: string): Pod => ({
  metadata: { namespace, name, uid: `uid-${namespace}-${name}` },
  spec: {
    containers: [{ name: 'main' }],
    volumes: [{ name: 'v', persistentVolumeClaim: { claimName: claim } }],
  },
  status: { phase: 'Running' },
});

const snapshotRecording = (record: unknown): VolumeSnapshot => ({
  metadata: {
    namespace: 'shop',
    name: 'snap',
    annotations: { [runningCommandsAnnotation]: JSON.stringify(record) },
  },
  spec: { persistentVolumeClaimName: 'db-data' },
});

async function recover(record: unknown, pods: Pod[]) {
  const api = new FakeKubeClient();
  api.seed(resources.volumeSnapshots, snapshotRecording(record));
  api.seed(resources.pods, ...pods);
  const calls: ExecRequest[] = [];
  const exec = (request: ExecRequest): Promise<ExecResult> => {
    calls.push(request);
    return Promise.resolve({ stdout: '', stderr: '', exitCode: 0 });
  };
  const events: { type: string; reason: string; message: string }[] = [];
  const recorder = {
    record: (_: unknown, type: string, reason: string, message: string) =>
      events.push({ type, reason, message }),
  } as unknown as EventRecorder;
  const rules = new SnapshotRules({
    api,
    logger: silentLogger,
    events: recorder,
    exec,
    config: { releaseAttempts: 1, releaseRetryIntervalMs: 1 },
  });
  await rules.recover(AbortSignal.timeout(10_000));
  const stored = api.object<VolumeSnapshot>(resources.volumeSnapshots, 'snap', 'shop');
  return {
    touched: calls.map((c) => `${c.namespace}/${c.pod}`),
    events,
    writes: api.writes().map((w) => `${w.verb} ${w.resource} ${w.namespace ?? ''}/${w.name ?? ''}`),
    left: stored?.metadata.annotations?.[runningCommandsAnnotation],
  };
}

describe('recovering recorded background commands', () => {
  const ownPod = pod('shop', 'db-0', 'db-data');

  it('releases a recorded pod of the snapshot namespace that mounts its claim', async () => {
    const { touched, writes, left } = await recover(
      { taskID: task, pods: [{ namespace: 'shop', name: 'db-0', uid: 'uid-shop-db-0' }] },
      [ownPod],
    );
    expect(touched).toEqual(['shop/db-0']);
    expect(writes).toEqual(['patch volumesnapshots shop/snap']);
    expect(left).toBeUndefined();
  });

  it('acts on no pod of another namespace, whatever the record says', async () => {
    const { touched, events } = await recover(
      {
        taskID: task,
        pods: [
          { namespace: 'kube-system', name: 'etcd-0', uid: 'uid-kube-system-etcd-0' },
          { namespace: 'shop', name: 'db-0', uid: 'uid-shop-db-0' },
        ],
      },
      [pod('kube-system', 'etcd-0', 'db-data'), ownPod],
    );
    expect(touched).toEqual(['shop/db-0']);
    const refused = events.filter((e) => e.type === 'Warning' && e.reason === 'RuleRecoveryRefused');
    expect(refused.map((e) => e.message).join('\n')).toContain('kube-system/etcd-0');
  });

  it('acts on no pod of the namespace that does not mount the snapshot claim', async () => {
    const { touched, events } = await recover(
      { taskID: task, pods: [{ namespace: 'shop', name: 'web-0', uid: 'uid-shop-web-0' }] },
      [pod('shop', 'web-0', 'other-claim')],
    );
    expect(touched).toEqual([]);
    const refused = events.filter((e) => e.type === 'Warning' && e.reason === 'RuleRecoveryRefused');
    expect(refused.map((e) => e.message).join('\n')).toContain('shop/web-0');
  });

  it.each(['../../etc/passwd', 'a b', '', 'x'.repeat(65)])(
    'refuses task id %j, touching nothing',
    async (id) => {
      const { touched, events, writes, left } = await recover(
        { taskID: id, pods: [{ namespace: 'shop', name: 'db-0', uid: 'uid-shop-db-0' }] },
        [ownPod],
      );
      expect(touched).toEqual([]);
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'Warning', reason: 'RuleRecoveryFailed' }),
      );
      expect(writes).toEqual([]);
      expect(left).toContain('taskID');
    },
  );
});
