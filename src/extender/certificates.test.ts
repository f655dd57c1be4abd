import { X509Certificate } from 'node:crypto';
import type { Secret } from '../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { resources } from '../k8s/paths.js';
import { FakeKubeClient } from '../k8s/testing/fake-client.js';
import { silentLogger } from '../lib/log.js';
import {
  defaultExtenderCertificateConfig,
  extenderSecretName,
  schedulerClientName,
  schedulerSecretName,
  startExtenderCertificates,
} from './certificates.js';

const config = { ...defaultExtenderCertificateConfig, namespace: 'kube-system', extraSans: ['127.0.0.1'] };
const decoded = (secret: Secret | undefined, key: string): string =>
  Buffer.from(secret?.data?.[key] ?? '', 'base64').toString('utf8');

describe('startExtenderCertificates', () => {
  it("keeps the CA and both certificates in stork's Secret and gives the scheduler only its half", async () => {
    const api = new FakeKubeClient();
    const running = await startExtenderCertificates(config, {
      api,
      logger: silentLogger,
      onChange: () => undefined,
    });
    try {
      const own = api.object<Secret>(resources.secrets, extenderSecretName, 'kube-system');
      const scheduler = api.object<Secret>(resources.secrets, schedulerSecretName, 'kube-system');
      expect(Object.keys(own?.data ?? {}).sort()).toEqual([
        'ca.crt',
        'ca.key',
        'client.crt',
        'client.key',
        'tls.crt',
        'tls.key',
      ]);
      // No CA key and no serving key leave stork's Secret.
      expect(Object.keys(scheduler?.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      const client = new X509Certificate(decoded(scheduler, 'tls.crt'));
      expect(client.subject).toBe(`CN=${schedulerClientName}`);
      const ca = new X509Certificate(decoded(scheduler, 'ca.crt'));
      expect(client.checkIssued(ca)).toBe(true);
      const serving = new X509Certificate(running.current().certPem);
      expect(serving.checkHost('stork-service.kube-system.svc')).toBeDefined();
      expect(serving.checkIP('127.0.0.1')).toBeDefined();
      // A second round changes nothing (no write when nothing is due).
      const writes = api.calls.length;
      await running.reconcile();
      expect(api.calls.slice(writes).map((c) => c.verb)).toEqual(['get', 'get']);
    } finally {
      await running.stop();
    }
  });

  it('a second replica adopts what the first stored', async () => {
    const api = new FakeKubeClient();
    const deps = { api, logger: silentLogger, onChange: () => undefined };
    const a = await startExtenderCertificates(config, deps);
    const b = await startExtenderCertificates(config, deps);
    try {
      expect(b.current()).toEqual(a.current());
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
