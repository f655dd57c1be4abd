/** A kubeconfig (as JSON, which every client reads as YAML) for one cluster and one user. */
export function kubeconfigFile(options: {
  server: string;
  caPem: string;
  user: { certPem: string; keyPem: string } | { token: string };
  name?: string;
}): string {
  const name = options.name ?? 'box';
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const user =
    'token' in options.user
      ? { token: options.user.token }
      : { 'client-certificate-data': b64(options.user.certPem), 'client-key-data': b64(options.user.keyPem) };
  return (
    JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name, cluster: { server: options.server, 'certificate-authority-data': b64(options.caPem) } },
        ],
        users: [{ name, user }],
        contexts: [{ name, context: { cluster: name, user: name } }],
        'current-context': name,
      },
      null,
      2,
    ) + '\n'
  );
}
