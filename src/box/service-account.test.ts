import { describe, expect, it } from 'vitest';
import { isRefusalLogLine, rbacObjects } from './service-account.js';

describe('rbacObjects', () => {
  it('keeps the ServiceAccount, roles and bindings of a spec, in order, and nothing else', () => {
    const spec = `apiVersion: v1
kind: ServiceAccount
metadata: {name: a, namespace: kube-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
---
# only a comment
---
kind: ClusterRole
metadata: {name: r}
---
kind: RoleBinding
metadata: {name: b}
`;
    expect(rbacObjects(spec).map((o) => `${o.kind ?? ''}/${o.metadata?.name ?? ''}`)).toEqual([
      'ServiceAccount/a',
      'ClusterRole/r',
      'RoleBinding/b',
    ]);
  });
});

describe('isRefusalLogLine', () => {
  it('matches warnings and errors about refused requests', () => {
    expect(
      isRefusalLogLine(
        '{"level":40,"err":"DELETE /api/v1/namespaces/x/pods/p: pods \\"p\\" is forbidden: User cannot delete"}',
      ),
    ).toBe(true);
    expect(isRefusalLogLine('{"level":50,"err":{"statusCode":401}}')).toBe(true);
    expect(
      isRefusalLogLine('{"level":40,"msg":"exec in pod x/p failed: Unexpected server response: 403"}'),
    ).toBe(true);
  });

  it('ignores info lines and other failures', () => {
    expect(isRefusalLogLine('{"level":30,"msg":"forbidden words"}')).toBe(false);
    expect(isRefusalLogLine('{"level":40,"err":"connect ECONNREFUSED 127.0.0.1:6443"}')).toBe(false);
  });
});
