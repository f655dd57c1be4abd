import { describe, expect, it } from 'vitest';
import { FakeClock } from '../lib/fake-clock.js';
import { AccessReviewer, ReviewsBusyError } from './access-review.js';
import type { ResourceType } from './paths.js';

interface Review {
  kind: string;
  spec: {
    token?: string;
    user?: string;
    resourceAttributes?: Record<string, string>;
    nonResourceAttributes?: Record<string, string>;
  };
}

/**
 * The API server's side of TokenReview and SubjectAccessReview (the fake client stores objects; it has no
 * authenticator or authorizer to answer these): tokens `good-*` belong to `alice`; alice may get pods in
 * `team` and the non-resource URL /metrics.
 */
function reviewApi() {
  const calls: Review[] = [];
  let hold: Promise<void> | undefined;
  const client = {
    async create<T>(_type: ResourceType, body: T): Promise<T> {
      const review = body as Review;
      calls.push(review);
      if (hold) await hold;
      if (review.kind === 'TokenReview') {
        const ok = review.spec.token?.startsWith('good-') === true;
        return {
          ...review,
          status: ok
            ? { authenticated: true, user: { username: 'alice', groups: ['devs'] } }
            : { authenticated: false },
        } as T;
      }
      const r = review.spec.resourceAttributes;
      const n = review.spec.nonResourceAttributes;
      const allowed =
        review.spec.user === 'alice' &&
        ((r?.verb === 'get' && r.resource === 'pods' && r.namespace === 'team') ||
          (n?.verb === 'get' && n.path === '/metrics'));
      return { ...review, status: { allowed } } as T;
    },
  };
  return {
    client,
    calls,
    holdAnswers(): () => void {
      let release = (): void => undefined;
      hold = new Promise((resolve) => (release = resolve));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

describe('AccessReviewer', () => {
  it('authenticates by TokenReview and remembers the answer for its TTL', async () => {
    const api = reviewApi();
    const clock = new FakeClock();
    const reviewer = new AccessReviewer({ client: api.client, clock, authenticatedTtlMs: 60_000 });
    expect(await reviewer.authenticate('good-1')).toEqual({ user: 'alice', groups: ['devs'] });
    expect(await reviewer.authenticate('good-1')).toEqual({ user: 'alice', groups: ['devs'] });
    expect(api.calls).toHaveLength(1);
    await clock.advance(60_001);
    await reviewer.authenticate('good-1');
    expect(api.calls).toHaveLength(2);
  });

  it('refuses unknown tokens, and asks again sooner than for accepted ones', async () => {
    const api = reviewApi();
    const clock = new FakeClock();
    const reviewer = new AccessReviewer({ client: api.client, clock, deniedTtlMs: 5_000 });
    expect(await reviewer.authenticate('bogus')).toBeUndefined();
    expect(await reviewer.authenticate('bogus')).toBeUndefined();
    expect(api.calls).toHaveLength(1);
    await clock.advance(5_001);
    await reviewer.authenticate('bogus');
    expect(api.calls).toHaveLength(2);
  });

  it.each([
    [{ verb: 'get', resource: 'pods', namespace: 'team', name: 'p' }, true],
    [{ verb: 'get', resource: 'pods', namespace: 'other', name: 'p' }, false],
    [{ verb: 'list', resource: 'pods' }, false],
    [{ verb: 'get', path: '/metrics' }, true],
  ])('authorizes %j by SubjectAccessReview: %s', async (request, allowed) => {
    const api = reviewApi();
    const reviewer = new AccessReviewer({ client: api.client, clock: new FakeClock() });
    const caller = { user: 'alice', groups: ['devs'] };
    expect(await reviewer.authorize(caller, request)).toBe(allowed);
    expect(await reviewer.authorize(caller, request)).toBe(allowed);
    expect(api.calls).toHaveLength(1);
    expect(api.calls[0]?.spec).toMatchObject({ user: 'alice', groups: ['devs'] });
  });

  it('keeps at most maxEntries answers: a flood of bogus tokens does not grow memory', async () => {
    const api = reviewApi();
    const reviewer = new AccessReviewer({ client: api.client, clock: new FakeClock(), maxEntries: 50 });
    for (let i = 0; i < 500; i++) await reviewer.authenticate(`bogus-${i}`);
    expect(reviewer.cachedEntries).toBeLessThanOrEqual(50);
  });

  it('shares one review among concurrent askers and refuses beyond maxInFlight', async () => {
    const api = reviewApi();
    const reviewer = new AccessReviewer({ client: api.client, clock: new FakeClock(), maxInFlight: 2 });
    const release = api.holdAnswers();
    const same = [reviewer.authenticate('good-a'), reviewer.authenticate('good-a')];
    const other = reviewer.authenticate('good-b');
    await expect(reviewer.authenticate('good-c')).rejects.toBeInstanceOf(ReviewsBusyError);
    release();
    await Promise.all([...same, other]);
    expect(api.calls.map((c) => c.spec.token)).toEqual(['good-a', 'good-b']);
  });

  it('keeps tokens only as digests', async () => {
    const api = reviewApi();
    const reviewer = new AccessReviewer({ client: api.client, clock: new FakeClock() });
    await reviewer.authenticate('good-secret-token');
    expect(JSON.stringify(Object.entries(reviewer))).not.toContain('good-secret-token');
  });
});
