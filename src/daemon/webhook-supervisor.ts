import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/log.js';
import type { RunningWebhook } from '../webhook/webhook.js';
import { errorText } from '../lib/errors.js';

const firstRetryMs = 10_000;
const maxRetryMs = 300_000;

/**
 * Keeps trying to start the admission webhook. The webhook is a convenience (pods naming `stork` are
 * scheduled without it), so a failure to start it (RBAC without Secrets or MutatingWebhookConfigurations, as
 * in older install specs, or its port taken) is logged and retried with backoff instead of stopping stork.
 * The first attempt is awaited, so a working webhook serves as soon as this resolves.
 */
export async function superviseWebhook(
  start: () => Promise<RunningWebhook>,
  logger: Logger,
): Promise<{ current(): RunningWebhook | undefined; stop(): Promise<void> }> {
  let webhook: RunningWebhook | undefined;
  const attempt = async (retryInMs: number): Promise<boolean> => {
    try {
      webhook = await start();
      return true;
    } catch (error) {
      logger.error(
        { err: errorText(error), retryInSeconds: retryInMs / 1000 },
        'admission webhook could not start (pods are admitted unchanged meanwhile); check that stork ' +
          'may get/create/update Secrets in its namespace and MutatingWebhookConfigurations',
      );
      return false;
    }
  };
  const term = new AbortController();
  let retries: Promise<void> = Promise.resolve();
  if (!(await attempt(firstRetryMs))) {
    retries = (async () => {
      for (let delayMs = firstRetryMs; ; delayMs = Math.min(delayMs * 2, maxRetryMs)) {
        await sleep(delayMs, undefined, { signal: term.signal }).catch(() => undefined);
        if (term.signal.aborted || (await attempt(Math.min(delayMs * 2, maxRetryMs)))) return;
      }
    })();
  }
  return {
    current: () => webhook,
    async stop() {
      term.abort();
      await retries;
      await webhook?.stop();
    },
  };
}
