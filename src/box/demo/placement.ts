import type { Event, PersistentVolume, PersistentVolumeClaim, Pod } from '../../wire/k8s-types.js';
import { resources } from '../../k8s/paths.js';
import type { SimVolume } from '../../simulator/simulator-state.js';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { Box } from '../box.js';
import type { ExtenderTlsFiles } from '../scheduler-config.js';
import type { BoxStorage } from '../storage.js';
import { table } from './table.js';

/** The driver volume behind a bound claim, and the Kubernetes nodes holding its replicas. */
export async function claimVolume(
  box: Box,
  storage: BoxStorage,
  namespace: string,
  claim: string,
): Promise<{ volume: SimVolume; nodes: string[] }> {
  const pvc = await box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
    namespace,
    name: claim,
  });
  const pv = await box.api.get<PersistentVolume>(resources.persistentVolumes, {
    name: pvc.spec?.volumeName ?? '',
  });
  const volume = storage.simulator.state.requireVolume(pv.spec?.csi?.volumeHandle ?? '');
  return {
    volume,
    nodes: volume.replicaNodeIds.map((id) => storage.simulator.state.node(id).schedulerNodeName),
  };
}

/** How the demo asks the extender itself: on loopback, with the stork scheduler's client certificate. */
export interface ExtenderEndpoint {
  readonly port: number;
  readonly tls: ExtenderTlsFiles;
}

/** What the extender answers for the pod now: its 0..10 scores by node (nodes left out score 0). */
export async function extenderScores(
  extender: ExtenderEndpoint,
  pod: Pod,
  nodes: string[],
): Promise<Map<string, number>> {
  const [cert, key, ca] = await Promise.all(
    [extender.tls.certFile, extender.tls.keyFile, extender.tls.caFile].map((f) => readFile(f, 'utf8')),
  );
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: extender.port,
        path: '/prioritize',
        method: 'POST',
        cert,
        key,
        ca,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ Pod: pod, NodeNames: nodes }));
  });
  const list = JSON.parse(text) as { Host: string; Score: number }[];
  return new Map(list.map((h) => [h.Host, h.Score]));
}

/** Node / replica / score / placed, one row per node. */
export async function placementTable(
  extender: ExtenderEndpoint,
  nodes: readonly string[],
  replicas: readonly string[],
  pod: Pod,
  label: string,
): Promise<string> {
  const scores = await extenderScores(extender, pod, [...nodes]);
  return table(
    nodes.map((node) => ({
      node,
      replica: replicas.includes(node) ? 'yes' : '',
      score: scores.get(node) ?? 0,
      placed: pod.spec?.nodeName === node ? `<- ${label}` : '',
    })),
  );
}

/** The events about an object, oldest first, as `Type Reason: message`. */
export async function eventsAbout(box: Box, namespace: string, name: string): Promise<string[]> {
  const events = await box.api.list<Event>(resources.events, namespace, {
    fieldSelector: `involvedObject.name=${name}`,
  });
  return events.items.map((e) => `${e.type ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`);
}
