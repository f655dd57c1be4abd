import { describe, expect, it } from 'vitest';
import { corefile } from './cluster-dns.js';
import { coreDnsMain, coreDnsPlugins } from './coredns-build.js';

describe('the CoreDNS build', () => {
  it('links every plugin the Corefile names, and no other', () => {
    const used = corefile({ bindIp: '198.18.0.2', kubeconfig: '/k' })
      .split('\n')
      .map((line) => /^ {4}([a-z_]+)/.exec(line)?.[1])
      .filter((word): word is string => word !== undefined);
    expect(new Set(used)).toEqual(new Set(coreDnsPlugins));
  });

  it('imports each plugin and orders them as CoreDNS runs them', () => {
    const main = coreDnsMain(['bind', 'ready', 'kubernetes']);
    for (const p of ['bind', 'ready', 'kubernetes'])
      expect(main).toContain(`_ "github.com/coredns/coredns/plugin/${p}"`);
    expect(main).toContain('dnsserver.Directives = []string{"bind", "ready", "kubernetes"}');
    expect(main).toContain('coremain.Run()');
  });
});
