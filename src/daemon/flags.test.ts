import { describe, expect, it } from 'vitest';
import { configFromFlags, storkCommand, type ParsedFlags } from './flags.js';

function parse(args: readonly string[]) {
  const command = storkCommand().exitOverride();
  command.parse(['--driver=pxd', '--driver-endpoint=127.0.0.1:9020', ...args], { from: 'user' });
  return configFromFlags(command.opts<ParsedFlags>(), undefined);
}

describe('webhook flags', () => {
  it('default to Stork (on, port 8443, scheduler stork, the opt-out annotation) but with a Service of its own', () => {
    const config = parse([]);
    expect(config.webhook).toBe(true);
    expect(config.webhookConfig).toMatchObject({
      port: 8443,
      serviceName: 'stork-webhook',
      schedulerName: 'stork',
      skipAnnotation: 'stork.libopenstorage.org/disable-admission-controller',
      secretName: 'stork-webhook-secret',
      timeoutSeconds: 5,
    });
    expect(config.webhookConfig.url).toBeUndefined();
    // Stork excluded kube-system only, hard-coded; stork's own namespace is excluded too by default.
    expect(config.webhookConfig.excludedNamespaces).toEqual(['kube-system']);
    expect(parse(['--webhook-namespace=storage']).webhookConfig.excludedNamespaces).toEqual([
      'kube-system',
      'storage',
    ]);
    expect(parse(['--webhook-excluded-namespaces=a, b']).webhookConfig.excludedNamespaces).toEqual([
      'a',
      'b',
    ]);
  });

  it('takes every setting', () => {
    const config = parse([
      '--webhook-controller=false',
      '--webhook-port=9443',
      '--webhook-skip-resources-annotation=example.com/skip',
      '--webhook-service-name=svc',
      '--webhook-namespace=storage',
      '--webhook-url=https://127.0.0.1:9443/mutate',
      '--webhook-cert-sans=stork.example, 198.18.0.1',
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
      extraSans: ['stork.example', '198.18.0.1'],
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

describe('leadership, API deadline and shutdown flags', () => {
  it("default to client-go's 15 s / 10 s / 2 s, a 30 s request deadline and a 25 s shutdown", () => {
    const config = parse([]);
    expect(config.leaderElection).toMatchObject({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(config.apiRequestTimeoutMs).toBe(30_000);
    expect(config.shutdownTimeoutMs).toBe(25_000);
  });

  it.each([
    {
      args: [
        '--leader-elect-lease-duration=3s',
        '--leader-elect-renew-deadline=2s',
        '--leader-elect-retry-period=500ms',
      ],
      want: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 },
    },
    {
      args: [
        '--leader-elect-lease-duration=20',
        '--leader-elect-renew-deadline=1.5s',
        '--leader-elect-retry-period=1',
      ],
      want: { leaseDurationMs: 20_000, renewDeadlineMs: 1500, retryPeriodMs: 1000 },
    },
  ])('takes durations: $args', ({ args, want }) => {
    expect(parse(args).leaderElection).toMatchObject(want);
  });

  it.each([
    ['--leader-elect-renew-deadline=20s'],
    ['--leader-elect-retry-period=9s'],
    ['--k8s-api-timeout=0'],
    ['--k8s-api-timeout=soon'],
  ])('refuses %s with a clear error', (arg) => {
    expect(() => parse([arg])).toThrow(/--leader-elect|--k8s-api-timeout/);
  });
});

describe('extender serving flags', () => {
  it('default to mutual TLS, node names only, bounded requests and the status port 8098', () => {
    const { extenderServing } = parse([]);
    expect(extenderServing).toMatchObject({
      insecureHttp: false,
      acceptNodeObjects: false,
      maxNodes: 10_000,
      statusPort: 8098,
      limits: { maxConnections: 256, requestTimeoutMs: 10_000, headersTimeoutMs: 10_000 },
    });
    expect(extenderServing.maxRequestBytes).toBeUndefined();
  });

  it("take Stork's plain HTTP and node objects, limits and certificate settings", () => {
    const { extenderServing } = parse([
      '--extender-insecure-http',
      '--extender-accept-node-objects=true',
      '--extender-max-request-bytes=5000000',
      '--extender-max-nodes=300',
      '--extender-max-connections=10',
      '--extender-request-timeout=3',
      '--extender-cert-sans=127.0.0.1,stork.example',
      '--extender-cert-validity=600',
      '--extender-ca-validity=6000',
      '--status-port=9000',
    ]);
    expect(extenderServing).toMatchObject({
      insecureHttp: true,
      acceptNodeObjects: true,
      maxRequestBytes: 5_000_000,
      maxNodes: 300,
      limits: { maxConnections: 10, requestTimeoutMs: 3000, headersTimeoutMs: 3000 },
      statusPort: 9000,
    });
    expect(extenderServing.certificates).toMatchObject({
      extraSans: ['127.0.0.1', 'stork.example'],
      certValidityMs: 600_000,
      caValidityMs: 6_000_000,
      checkIntervalMs: 60_000,
    });
  });

  it('refuses a CA that does not outlive its certificates', () => {
    expect(() => parse(['--extender-cert-validity=600', '--extender-ca-validity=600'])).toThrow(
      /--extender-ca-validity must be longer/,
    );
  });
});

describe('snapshot schedule flags', () => {
  it('default to on, in UTC', () => {
    expect(parse([])).toMatchObject({ snapshotSchedules: true, scheduleTimeZone: 'UTC' });
  });

  it('take a zone the platform knows, and refuse one it does not', () => {
    expect(parse(['--schedule-time-zone=Europe/Berlin', '--snapshot-schedules=false'])).toMatchObject({
      snapshotSchedules: false,
      scheduleTimeZone: 'Europe/Berlin',
    });
    expect(() => parse(['--schedule-time-zone=Mars/Base'])).toThrow(
      /--schedule-time-zone: unknown time zone "Mars\/Base"/,
    );
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

  it('pxd takes its REST endpoint (group snapshots in one call) only when given', () => {
    expect(parseOnly(['--driver=pxd', '--driver-endpoint=h:9020']).driverRestEndpoint).toBeUndefined();
    const config = parseOnly([
      '--driver=pxd,csi',
      '--driver-endpoint=h:9020',
      '--driver-rest-endpoint=[::1]:9001',
    ]);
    expect(config.driverRestEndpoint).toBe('[::1]:9001');
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
    [['--driver=csi', '--driver-rest-endpoint=h:9001'], /--driver-rest-endpoint needs the pxd driver/],
    [['--driver=pxd', '--driver-endpoint=h:1', '--driver-rest-endpoint=http://h:9001'], /expected host:port/],
    [['--driver=pxd', '--driver-endpoint=h:1', '--driver-rest-endpoint=h'], /expected host:port/],
  ])('refuses %j', (args, error) => {
    expect(() => parseOnly(args)).toThrow(error);
  });
});
