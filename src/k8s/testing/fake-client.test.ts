import type { Lease, Pod } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../lib/fake-clock.js';
import type { WatchEvent } from '../client.js';
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  isResourceExpired,
  KubeApiError,
  statusError,
} from '../errors.js';
import { resources } from '../paths.js';
import { FakeKubeClient, tooManyRequests } from './fake-client.js';

const pod = (name: string, extra: Partial<Pod> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns', ...extra.metadata },
  spec: { containers: [{ name: 'c', image: 'i' }], ...extra.spec },
  ...(extra.status ? { status: extra.status } : {}),
});

const lease = (name: string): Lease => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, namespace: 'ns' },
  spec: { holderIdentity: 'a' },
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('FakeKubeClient objects', () => {
  it('assigns uid, creationTimestamp, generation and a global resourceVersion on create', async () => {
    const clock = new FakeClock({ wall: Date.parse('2026-03-04T05:06:07.890Z') });
    const api = new FakeKubeClient({ clock });
    const a = await api.create<Pod>(resources.pods, pod('a'), 'ns');
    const b = await api.create<Lease>(resources.leases, lease('b'), 'ns');
    expect(a.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata?.creationTimestamp).toBe('2026-03-04T05:06:07Z');
    expect(a.metadata?.generation).toBe(1);
    expect(Number(b.metadata?.resourceVersion)).toBe(Number(a.metadata?.resourceVersion) + 1);
  });

  it('copies objects in and out', async () => {
    const api = new FakeKubeClient();
    const body = pod('a');
    const created = await api.create<Pod>(resources.pods, body, 'ns');
    body.metadata = { name: 'changed' };
    if (created.metadata) created.metadata.labels = { mutated: 'yes' };
    const read = await api.get<Pod>(resources.pods, { namespace: 'ns', name: 'a' });
    expect(read.metadata?.labels).toBeUndefined();
    expect(read.metadata?.name).toBe('a');
  });

  it.each([
    {
      what: 'create of an existing name is AlreadyExists',
      act: async (api: FakeKubeClient) => api.create(resources.pods, pod('a'), 'ns'),
      check: isAlreadyExists,
    },
    {
      what: 'get of a missing object is NotFound',
      act: async (api: FakeKubeClient) => api.get(resources.pods, { namespace: 'ns', name: 'nope' }),
      check: isNotFound,
    },
    {
      what: 'replace with a stale resourceVersion is Conflict',
      act: async (api: FakeKubeClient) => {
        const current = await api.get<Pod>(resources.pods, { namespace: 'ns', name: 'a' });
        await api.patch(resources.pods, { namespace: 'ns', name: 'a' }, { metadata: { labels: { x: '1' } } });
        return api.replace(resources.pods, { namespace: 'ns', name: 'a' }, current);
      },
      check: isConflict,
    },
    {
      what: 'a merge patch carrying a stale resourceVersion is Conflict',
      act: async (api: FakeKubeClient) =>
        api.patch(resources.pods, { namespace: 'ns', name: 'a' }, { metadata: { resourceVersion: '1' } }),
      check: isConflict,
    },
    {
      what: 'delete with another uid as precondition is Conflict',
      act: async (api: FakeKubeClient) =>
        api.delete(resources.pods, { namespace: 'ns', name: 'a' }, { uid: 'other' }),
      check: isConflict,
    },
    {
      what: 'replace of a missing object is NotFound',
      act: async (api: FakeKubeClient) =>
        api.replace(resources.pods, { namespace: 'ns', name: 'b' }, pod('b')),
      check: isNotFound,
    },
    {
      what: 'create with a resourceVersion set is a BadRequest',
      act: async (api: FakeKubeClient) =>
        api.create(resources.pods, pod('c', { metadata: { name: 'c', resourceVersion: '5' } }), 'ns'),
      check: (e: unknown) => e instanceof KubeApiError && e.statusCode === 400,
    },
    {
      what: 'a bad label selector is a BadRequest',
      act: async (api: FakeKubeClient) => api.list(resources.pods, 'ns', { labelSelector: 'a in b' }),
      check: (e: unknown) => e instanceof KubeApiError && e.statusCode === 400,
    },
    {
      what: 'a field the resource cannot be selected by is a BadRequest',
      act: async (api: FakeKubeClient) =>
        api.list(resources.pods, 'ns', { fieldSelector: 'spec.hostname=x' }),
      check: (e: unknown) => e instanceof KubeApiError && e.statusCode === 400,
    },
  ])('$what', async ({ act, check }) => {
    const api = new FakeKubeClient();
    await api.create(resources.pods, pod('a'), 'ns');
    await api.patch(resources.pods, { namespace: 'ns', name: 'a' }, { metadata: { labels: { y: '1' } } });
    const before = api.objects(resources.pods);
    const error = await rejection(act(api));
    expect(check(error)).toBe(true);
    expect(api.objects(resources.pods)).toHaveLength(before.length);
  });

  it('replaces with the current resourceVersion and bumps it', async () => {
    const api = new FakeKubeClient();
    const created = await api.create<Lease>(resources.leases, lease('l'), 'ns');
    const updated = await api.replace<Lease>(
      resources.leases,
      { namespace: 'ns', name: 'l' },
      {
        ...created,
        spec: { holderIdentity: 'b' },
      },
    );
    expect(updated.spec?.holderIdentity).toBe('b');
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('applies merge patches (null deletes) and json patches for real', async () => {
    const api = new FakeKubeClient();
    await api.create(
      resources.pods,
      pod('a', { metadata: { name: 'a', labels: { keep: '1', drop: '1' } } }),
      'ns',
    );
    const merged = await api.patch<Pod>(
      resources.pods,
      { namespace: 'ns', name: 'a' },
      {
        metadata: { labels: { drop: null, added: '2' } },
      },
    );
    expect(merged.metadata?.labels).toEqual({ keep: '1', added: '2' });
    const patched = await api.patch<Pod>(
      resources.pods,
      { namespace: 'ns', name: 'a' },
      [
        { op: 'test', path: '/metadata/labels/keep', value: '1' },
        { op: 'add', path: '/metadata/annotations', value: { 'a~/b': 'x' } },
        { op: 'remove', path: '/metadata/labels/keep' },
        { op: 'replace', path: '/spec/containers/0/image', value: 'j' },
      ],
      'json',
    );
    expect(patched.metadata?.labels).toEqual({ added: '2' });
    expect(patched.metadata?.annotations).toEqual({ 'a~/b': 'x' });
    expect(patched.spec?.containers[0]?.image).toBe('j');
    expect(patched.metadata?.generation).toBe(2);
    const failed = await rejection(
      api.patch(
        resources.pods,
        { namespace: 'ns', name: 'a' },
        [{ op: 'test', path: '/metadata/name', value: 'b' }],
        'json',
      ),
    );
    expect(failed).toBeInstanceOf(KubeApiError);
  });

  it('honours finalizers: delete only marks, removing the last finalizer deletes', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    await api.create(resources.pods, pod('a', { metadata: { name: 'a', finalizers: ['x/y'] } }), 'ns');
    await api.delete(resources.pods, { namespace: 'ns', name: 'a' });
    const marked = api.object<Pod>(resources.pods, 'a', 'ns');
    expect(marked?.metadata?.deletionTimestamp).toBe(
      new Date(clock.wallNow()).toISOString().replace(/\.\d+Z$/, 'Z'),
    );
    await api.patch(resources.pods, { namespace: 'ns', name: 'a' }, { metadata: { finalizers: null } });
    expect(api.object(resources.pods, 'a', 'ns')).toBeUndefined();
  });

  it('keeps status out of main-resource writes and everything else out of /status writes', async () => {
    const api = new FakeKubeClient();
    api.seed(resources.pods, pod('a', { status: { phase: 'Running' } }));
    await api.patch(
      resources.pods,
      { namespace: 'ns', name: 'a' },
      {
        metadata: { labels: { l: '1' } },
        status: { phase: 'Failed' },
      },
    );
    expect(api.object<Pod>(resources.pods, 'a', 'ns')?.status?.phase).toBe('Running');
    await api.patch(
      resources.pods,
      { namespace: 'ns', name: 'a', subresource: 'status' },
      {
        metadata: { labels: { l: '2' } },
        status: { phase: 'Succeeded' },
      },
    );
    const after = api.object<Pod>(resources.pods, 'a', 'ns');
    expect(after?.status?.phase).toBe('Succeeded');
    expect(after?.metadata?.labels).toEqual({ l: '1' });
    // Leases have no status subresource: /status does not exist.
    await api.create(resources.leases, lease('l'), 'ns');
    expect(
      isNotFound(
        await rejection(
          api.patch(resources.leases, { namespace: 'ns', name: 'l', subresource: 'status' }, {}),
        ),
      ),
    ).toBe(true);
  });

  it('evicts pods, or refuses with what the eviction hook answers (429 like a PDB)', async () => {
    const api = new FakeKubeClient();
    api.seed(resources.pods, pod('a'), pod('b'));
    const evict = (name: string) =>
      api.create(
        resources.pods,
        { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'ns' } },
        undefined,
        {
          subresourceOf: { namespace: 'ns', name, subresource: 'eviction' },
        },
      );
    await evict('a');
    expect(api.object(resources.pods, 'a', 'ns')).toBeUndefined();
    api.evictionHook = () => tooManyRequests();
    const refused = await rejection(evict('b'));
    expect(refused).toMatchObject({ statusCode: 429 });
    expect(api.object(resources.pods, 'b', 'ns')).toBeDefined();
    expect(isNotFound(await rejection(evict('gone')))).toBe(true);
    expect(api.writes({ subresource: 'eviction' }).map((c) => [c.name, c.outcome])).toEqual([
      ['a', 'ok'],
      ['b', 'error'],
      ['gone', 'error'],
    ]);
  });
});

describe('FakeKubeClient lists', () => {
  const seeded = (): FakeKubeClient => {
    const api = new FakeKubeClient();
    api.seed(
      resources.pods,
      pod('a', {
        metadata: { name: 'a', labels: { app: 'db', tier: 'x' } },
        spec: { nodeName: 'n1', containers: [] },
      }),
      pod('b', { metadata: { name: 'b', labels: { app: 'web' } }, spec: { nodeName: 'n2', containers: [] } }),
      pod('c', {
        metadata: { name: 'c', labels: { app: 'cache' } },
        spec: { nodeName: 'n1', containers: [] },
      }),
      pod('d', { metadata: { name: 'd' }, spec: { containers: [] } }),
    );
    return api;
  };

  it.each([
    { selector: { labelSelector: 'app=db' }, names: ['a'] },
    { selector: { labelSelector: 'app==db' }, names: ['a'] },
    { selector: { labelSelector: 'app!=db' }, names: ['b', 'c', 'd'] },
    { selector: { labelSelector: 'app in (db, web)' }, names: ['a', 'b'] },
    { selector: { labelSelector: 'app notin (db,web)' }, names: ['c', 'd'] },
    { selector: { labelSelector: 'app' }, names: ['a', 'b', 'c'] },
    { selector: { labelSelector: '!app' }, names: ['d'] },
    { selector: { labelSelector: 'app in (db,cache),tier' }, names: ['a'] },
    { selector: { fieldSelector: 'spec.nodeName=n1' }, names: ['a', 'c'] },
    { selector: { fieldSelector: 'spec.nodeName!=n1' }, names: ['b', 'd'] },
    { selector: { fieldSelector: 'spec.nodeName=' }, names: ['d'] },
    { selector: { fieldSelector: 'metadata.name=b,spec.nodeName=n2' }, names: ['b'] },
  ])('selects $selector', async ({ selector, names }) => {
    const list = await seeded().list<Pod>(resources.pods, 'ns', selector);
    expect(list.items.map((p) => p.metadata?.name)).toEqual(names);
  });

  it('pages with limit and continue', async () => {
    const api = seeded();
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await api.list<Pod>(resources.pods, 'ns', { limit: 3, continue: token });
      seen.push(...page.items.map((p) => p.metadata?.name ?? ''));
      token = page.metadata.continue;
      pages++;
    } while (token);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(pages).toBe(2);
  });

  it('answers 410 for a continue token older than the retained window', async () => {
    const api = seeded();
    const first = await api.list(resources.pods, 'ns', { limit: 1 });
    await api.patch(resources.pods, { namespace: 'ns', name: 'a' }, { metadata: { labels: { z: '1' } } });
    api.compact();
    expect(
      isResourceExpired(
        await rejection(api.list(resources.pods, 'ns', { continue: first.metadata.continue })),
      ),
    ).toBe(true);
  });
});

describe('FakeKubeClient watches', () => {
  function collect(
    api: FakeKubeClient,
    resourceVersion: string,
    signal: AbortSignal,
    labelSelector?: string,
  ) {
    const events: string[] = [];
    const done = api
      .watch<Pod>(resources.pods, 'ns', { resourceVersion, signal, labelSelector }, (e: WatchEvent<Pod>) =>
        events.push(`${e.type} ${e.object.metadata?.name ?? ''}`),
      )
      .then(
        () => 'ended',
        (error: unknown) => error,
      );
    return { events, done };
  }

  it('streams ADDED, MODIFIED and DELETED from a resourceVersion, and ends at its timeout', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    await api.create(resources.pods, pod('old'), 'ns');
    const from = api.resourceVersion;
    await api.create(resources.pods, pod('a'), 'ns');
    const controller = new AbortController();
    const events: string[] = [];
    const done = api.watch<Pod>(
      resources.pods,
      'ns',
      { resourceVersion: from, signal: controller.signal, timeoutSeconds: 60 },
      (e) => events.push(`${e.type} ${e.object.metadata?.name ?? ''}`),
    );
    await clock.advance(0);
    await api.patch(resources.pods, { namespace: 'ns', name: 'a' }, { metadata: { labels: { x: '1' } } });
    await api.delete(resources.pods, { namespace: 'ns', name: 'a' });
    await api.create(
      resources.pods,
      pod('other', { metadata: { name: 'other', namespace: 'elsewhere' } }),
      'elsewhere',
    );
    await clock.advance(0);
    expect(events).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a']);
    await clock.advance(60_000);
    await expect(done).resolves.toBeUndefined();
  });

  it('turns selection changes into ADDED and DELETED for a label-selected watch', async () => {
    const api = new FakeKubeClient();
    await api.create(resources.pods, pod('a'), 'ns');
    const controller = new AbortController();
    const { events } = collect(api, api.resourceVersion, controller.signal, 'app=db');
    await api.patch(resources.pods, { namespace: 'ns', name: 'a' }, { metadata: { labels: { app: 'db' } } });
    await api.patch(resources.pods, { namespace: 'ns', name: 'a' }, { metadata: { labels: { app: 'web' } } });
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['ADDED a', 'DELETED a']);
    controller.abort();
  });

  it('starts with the current objects without a resourceVersion', async () => {
    const api = new FakeKubeClient();
    api.seed(resources.pods, pod('b'), pod('a'));
    const controller = new AbortController();
    const { events, done } = collect(api, '', controller.signal);
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['ADDED a', 'ADDED b']);
    controller.abort();
    expect(await done).toMatchObject({ name: 'AbortError' });
    expect(api.callsTo({ verb: 'watch' })[0]?.outcome).toBe('aborted');
  });

  it('answers 410 Gone for a resourceVersion older than the retained window', async () => {
    const api = new FakeKubeClient({ retainedEvents: 2 });
    await api.create(resources.pods, pod('a'), 'ns');
    const from = api.resourceVersion;
    for (const name of ['b', 'c', 'd']) await api.create(resources.pods, pod(name), 'ns');
    const { done } = collect(api, from, new AbortController().signal);
    expect(isResourceExpired(await done)).toBe(true);
  });

  it('delivers injected ERROR events and server-side ends', async () => {
    const api = new FakeKubeClient();
    const first = collect(api, '', new AbortController().signal);
    await new Promise((r) => setImmediate(r));
    api.failWatches(resources.pods, 410);
    expect(isResourceExpired(await first.done)).toBe(true);
    const second = collect(api, '', new AbortController().signal);
    await new Promise((r) => setImmediate(r));
    expect(api.openWatches(resources.pods)).toBe(1);
    api.endWatches();
    expect(await second.done).toBe('ended');
    expect(api.openWatches()).toBe(0);
  });
});

describe('FakeKubeClient faults and the call log', () => {
  it('fails the next N matching calls with the given error, then works', async () => {
    const api = new FakeKubeClient();
    await api.create(resources.leases, lease('l'), 'ns');
    const fault = api.inject({
      verb: 'get',
      resource: 'leases',
      times: 2,
      error: statusError(500, 'InternalError', 'boom'),
    });
    const ref = { namespace: 'ns', name: 'l' };
    expect(await rejection(api.get(resources.leases, ref))).toMatchObject({ statusCode: 500 });
    await api.list(resources.leases, 'ns'); // not matched: a list
    expect(await rejection(api.get(resources.leases, ref))).toMatchObject({ statusCode: 500 });
    await expect(api.get(resources.leases, ref)).resolves.toBeDefined();
    expect(fault.hits).toBe(2);
  });

  it('hangs a call until its signal aborts, and records that it was aborted', async () => {
    const api = new FakeKubeClient();
    await api.create(resources.leases, lease('l'), 'ns');
    api.inject({ verb: 'replace', hang: true });
    const controller = new AbortController();
    const current = await api.get<Lease>(resources.leases, { namespace: 'ns', name: 'l' });
    const pending = rejection(
      api.replace(resources.leases, { namespace: 'ns', name: 'l' }, current, { signal: controller.signal }),
    );
    await new Promise((r) => setImmediate(r));
    expect(api.callsTo({ verb: 'replace' })[0]?.outcome).toBe('pending');
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    expect(api.callsTo({ verb: 'replace' })[0]?.outcome).toBe('aborted');
    // Hung before the server looked at it: nothing was written.
    expect(api.object<Lease>(resources.leases, 'l', 'ns')?.metadata?.resourceVersion).toBe(
      current.metadata?.resourceVersion,
    );
  });

  it('delays a call on the FakeClock; with afterApply the write lands even if the answer is abandoned', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    api.inject({ verb: 'create', delayMs: 5000 });
    let answered = false;
    const created = api.create(resources.leases, lease('l'), 'ns').then(() => (answered = true));
    await clock.advance(4999);
    expect(answered).toBe(false);
    expect(api.object(resources.leases, 'l', 'ns')).toBeUndefined();
    await clock.advance(1);
    await created;
    expect(answered).toBe(true);

    api.inject({ verb: 'patch', delayMs: 5000, afterApply: true });
    const controller = new AbortController();
    const late = rejection(
      api.patch(
        resources.leases,
        { namespace: 'ns', name: 'l' },
        { spec: { holderIdentity: 'b' } },
        'merge',
        { signal: controller.signal },
      ),
    );
    await clock.advance(100);
    controller.abort();
    expect(await late).toMatchObject({ name: 'AbortError' });
    expect(api.object<Lease>(resources.leases, 'l', 'ns')?.spec?.holderIdentity).toBe('b');
  });

  it('rejects at once a call whose signal is already aborted, without touching anything', async () => {
    const api = new FakeKubeClient();
    const error = await rejection(
      api.create(resources.leases, lease('l'), 'ns', { signal: AbortSignal.abort() }),
    );
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(api.object(resources.leases, 'l', 'ns')).toBeUndefined();
  });

  it('logs every call so a test can assert that no write happened', async () => {
    const api = new FakeKubeClient();
    api.seed(resources.pods, pod('a'));
    await api.get(resources.pods, { namespace: 'ns', name: 'a' });
    await api.list(resources.pods, 'ns');
    expect(api.writes()).toEqual([]);
    await api.delete(resources.pods, { namespace: 'ns', name: 'a' });
    expect(api.writes().map((c) => [c.verb, c.resource, c.namespace, c.name])).toEqual([
      ['delete', 'pods', 'ns', 'a'],
    ]);
  });
});
