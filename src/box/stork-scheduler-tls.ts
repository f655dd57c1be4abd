import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Secret } from '../wire/k8s-types.js';
import { schedulerSecretName } from '../extender/certificates.js';
import { resources } from '../k8s/paths.js';
import { waitFor } from '../lib/wait.js';
import type { Box } from './box.js';
import type { ExtenderTlsFiles } from './scheduler-config.js';

/**
 * The stork scheduler's client certificate as a cluster's kubelet would mount it: the Secret stork
 * writes (`stork-scheduler-tls`), its keys as files in a directory of the box.
 */
export async function storkSchedulerTlsFiles(box: Box, namespace = 'kube-system'): Promise<ExtenderTlsFiles> {
  let secret: Secret | undefined;
  await waitFor(
    `Secret ${namespace}/${schedulerSecretName}`,
    async () => {
      secret = await box.api
        .get<Secret>(resources.secrets, { namespace, name: schedulerSecretName })
        .catch(() => undefined);
      return secret !== undefined;
    },
    { timeoutMs: 30_000 },
  );
  const dir = join(box.dir, 'stork-scheduler-tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = {
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    caFile: join(dir, 'ca.crt'),
  };
  const data = secret?.data ?? {};
  const decode = (key: string): string => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
  await writeFile(files.certFile, decode('tls.crt'), { mode: 0o600 });
  await writeFile(files.keyFile, decode('tls.key'), { mode: 0o600 });
  await writeFile(files.caFile, decode('ca.crt'), { mode: 0o600 });
  return files;
}
