import { describe, expect, it } from 'vitest';
import { configFromFlags, storkCommand, type ParsedFlags } from './flags.js';

function parse(args: readonly string[]) {
  const command = storkCommand().exitOverride();
  command.parse(['--driver=pxd', '--driver-endpoint=127.0.0.1:9020', ...args], { from: 'user' });
  return configFromFlags(command.opts<ParsedFlags>(), undefined);
}

describe('webhook flags', () => {
  it('default to Stork: on, port 8443, stork-service, scheduler stork, the opt-out annotation', () => {
    const config = parse([]);
    expect(config.webhook).toBe(true);
    expect(config.webhookConfig).toMatchObject({
      port: 8443,
      serviceName: 'stork-service',
      schedulerName: 'stork',
      skipAnnotation: 'stork.libopenstorage.org/disable-admission-controller',
      secretName: 'stork-webhook-secret',
      timeoutSeconds: 5,
    });
    expect(config.webhookConfig.url).toBeUndefined();
  });

  it('takes every setting', () => {
    const config = parse([
      '--webhook-controller=false',
      '--webhook-port=9443',
      '--webhook-skip-resources-annotation=example.com/skip',
      '--webhook-service-name=svc',
      '--webhook-namespace=storage',
      '--webhook-url=https://127.0.0.1:9443/mutate',
      '--webhook-cert-sans=stork.example, 10.0.0.1',
      '--webhook-cert-validity=300',
      '--webhook-ca-validity=3000',
      '--webhook-cert-check-interval=10',
      '--webhook-timeout=3',
      '--scheduler-name=mine',
    ]);
    expect(config.webhook).toBe(false);
    expect(config.webhookConfig).toMatchObject({
      port: 9443,
      skipAnnotation: 'example.com/skip',
      serviceName: 'svc',
      namespace: 'storage',
      url: 'https://127.0.0.1:9443/mutate',
      extraSans: ['stork.example', '10.0.0.1'],
      certValidityMs: 300_000,
      caValidityMs: 3_000_000,
      certCheckIntervalMs: 10_000,
      timeoutSeconds: 3,
      schedulerName: 'mine',
    });
  });

  it.each([
    [['--webhook-url=http://127.0.0.1:9443/mutate'], /must be https/],
    [['--webhook-url=nonsense'], /not a URL/],
    [['--webhook-timeout=31'], /1-30/],
    [['--webhook-cert-validity=60', '--webhook-cert-check-interval=30'], /at most a third/],
    [
      ['--webhook-ca-validity=100', '--webhook-cert-validity=300', '--webhook-cert-check-interval=10'],
      /longer/,
    ],
  ])('refuses %j', (args, message) => {
    expect(() => parse(args)).toThrow(message);
  });
});

describe('--snapshotter', () => {
  it('is on by default and can be turned off in Go style', () => {
    expect(parse([]).snapshotter).toBe(true);
    expect(parse(['--snapshotter=false']).snapshotter).toBe(false);
    expect(parse(['--snapshotter']).snapshotter).toBe(true);
  });

  it('rejects a value that is not a boolean', () => {
    expect(() => parse(['--snapshotter=maybe'])).toThrow(/expected true or false/);
  });
});

describe('rule flags', () => {
  it('default to the rules defaults and take seconds', () => {
    expect(parse([]).rulesConfig).toEqual({
      commandTimeoutMs: 60_000,
      commandAttempts: 3,
      backgroundReadyTimeoutMs: 300_000,
    });
    expect(
      parse(['--rule-command-timeout=10', '--rule-command-attempts=12', '--rule-background-timeout=900'])
        .rulesConfig,
    ).toEqual({ commandTimeoutMs: 10_000, commandAttempts: 12, backgroundReadyTimeoutMs: 900_000 });
  });

  it('refuses a count that is not a positive whole number', () => {
    expect(() => parse(['--rule-command-attempts=0'])).toThrow(/--rule-command-attempts must be a positive/);
  });
});

describe('driver flags', () => {
  function parseOnly(args: readonly string[]) {
    const command = storkCommand().exitOverride();
    command.configureOutput({ writeErr: () => undefined });
    command.parse([...args], { from: 'user' });
    return configFromFlags(command.opts<ParsedFlags>(), undefined);
  }

  it('takes several drivers and the CSI driver names to serve', () => {
    const config = parseOnly([
      '--driver=pxd,csi',
      '--driver-endpoint=127.0.0.1:9020',
      '--csi-driver-names=a.csi.example.com,b.csi.example.com',
    ]);
    expect(config.driver).toBe('pxd,csi');
    expect(config.csiDriverNames).toEqual(['a.csi.example.com', 'b.csi.example.com']);
  });

  it('csi alone needs no storage endpoint and serves every CSIDriver by default', () => {
    const config = parseOnly(['--driver=csi']);
    expect(config.driver).toBe('csi');
    expect(config.csiDriverNames).toEqual([]);
  });

  it.each([
    [['--driver=pxd'], /--driver-endpoint is required by the pxd driver/],
    [['--driver=pxd,nfs', '--driver-endpoint=h:1'], /unknown volume driver "nfs"/],
    [['--driver=csi', '--csi-driver-names=Not_A_Name'], /"Not_A_Name" is not a CSI driver name/],
    [['--driver=pxd', '--driver-endpoint=h:1', '--csi-driver-names=a.b'], /needs the csi driver/],
  ])('refuses %j', (args, error) => {
    expect(() => parseOnly(args)).toThrow(error);
  });
});
