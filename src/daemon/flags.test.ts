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
