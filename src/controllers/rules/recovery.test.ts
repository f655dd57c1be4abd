import type { Pod } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import type { KubeApi } from '../../k8s/api.js';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import { KubeApiError } from '../../k8s/errors.js';
import type { EventRecorder } from '../../k8s/events.js';
import type { ExecRequest, ExecResult } from '../../k8s/exec.js';
import type { ResourceType } from '../../k8s/paths.js';
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

/** The API calls recovery makes, over a fixed set of snapshots and pods. */
function fakeApi(snapshots: VolumeSnapshot[], pods: Pod[]) {
  const patches: unknown[] = [];
  const api = {
    list: (type: ResourceType, namespace?: string) =>
      Promise.resolve({
        metadata: {},
        items:
          type.resource === 'volumesnapshots'
            ? snapshots
            : pods.filter((p) => namespace === undefined || p.metadata?.namespace === namespace),
      }),
    get: (_type: ResourceType, ref: { namespace?: string; name: string }) => {
      const found = pods.find(
        (p) => p.metadata?.namespace === ref.namespace && p.metadata?.name === ref.name,
      );
      return found
        ? Promise.resolve(found)
        : Promise.reject(new KubeApiError(404, 'NotFound', 'not found', undefined));
    },
    patch: (_type: ResourceType, _ref: unknown, patch: unknown) => {
      patches.push(patch);
      return Promise.resolve({});
    },
  };
  return { api: api as unknown as KubeApi, patches };
}

async function recover(record: unknown, pods: Pod[]) {
  const { api, patches } = fakeApi([snapshotRecording(record)], pods);
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
  return { touched: calls.map((c) => `${c.namespace}/${c.pod}`), events, patches };
}

describe('recovering recorded background commands', () => {
  const ownPod = pod('shop', 'db-0', 'db-data');

  it('releases a recorded pod of the snapshot namespace that mounts its claim', async () => {
    const { touched, patches } = await recover(
      { taskID: task, pods: [{ namespace: 'shop', name: 'db-0', uid: 'uid-shop-db-0' }] },
      [ownPod],
    );
    expect(touched).toEqual(['shop/db-0']);
    expect(patches).toEqual([{ metadata: { annotations: { [runningCommandsAnnotation]: null } } }]);
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
      const { touched, events, patches } = await recover(
        { taskID: id, pods: [{ namespace: 'shop', name: 'db-0', uid: 'uid-shop-db-0' }] },
        [ownPod],
      );
      expect(touched).toEqual([]);
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'Warning', reason: 'RuleRecoveryFailed' }),
      );
      expect(patches).toEqual([]);
    },
  );
});
