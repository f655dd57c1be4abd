import { describe, expect, it } from 'vitest';
import { requiredVersion, stagingModules } from './build.js';

const goMod = `module k8s.io/kubernetes

go 1.26.0

require (
	go.etcd.io/etcd/client/v3 v3.6.8
	go.etcd.io/etcd/server/v3 v3.6.8 // indirect
	k8s.io/api v0.0.0
)

replace k8s.io/cri-api => ./staging/src/k8s.io/cri-api

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apimachinery => ./staging/src/k8s.io/apimachinery
	k8s.io/kube-openapi => k8s.io/kube-openapi v0.0.0-20260317180543-43fb72c5454a
)
`;

describe('stagingModules', () => {
  it('lists every module replaced by a staging directory, in block and single-line form', () => {
    expect(stagingModules(goMod)).toEqual(['k8s.io/api', 'k8s.io/apimachinery', 'k8s.io/cri-api']);
  });

  it('ignores replaces that point at published versions', () => {
    expect(stagingModules(goMod)).not.toContain('k8s.io/kube-openapi');
  });
});

describe('requiredVersion', () => {
  it('reads the version a go.mod requires', () => {
    expect(requiredVersion(goMod, 'go.etcd.io/etcd/client/v3')).toBe('v3.6.8');
  });

  it('does not confuse a module with a longer path that shares its prefix', () => {
    expect(() => requiredVersion(goMod, 'go.etcd.io/etcd')).toThrow(/does not require go.etcd.io\/etcd$/);
  });
});
