import type { CommandContext } from './context.js';
import { describeError } from './context.js';
import { CliError } from './output.js';

/**
 * Reads one of stork's read-only documents (`/explain`, `/hyperconvergence`). By default through the API
 * server's service proxy, so it works from anywhere kubectl does and reaches whichever replica the
 * service picks (every replica answers from its own caches); `--stork-url` talks to one directly.
 */
export async function storkDocument<T>(
  ctx: CommandContext,
  path: string,
  query: Record<string, string> = {},
): Promise<T> {
  const { storkUrl, storkNamespace, storkService } = ctx.options;
  if (storkUrl) {
    const url = new URL(path, storkUrl.endsWith('/') ? storkUrl : `${storkUrl}/`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      const cause = (error as { cause?: Error }).cause;
      throw new CliError(`cannot reach stork at ${storkUrl}: ${(cause ?? (error as Error)).message}`);
    }
    const text = await response.text();
    if (!response.ok) throw new CliError(`stork answered ${response.status}: ${text.trim()}`);
    return JSON.parse(text) as T;
  }
  const proxy =
    `/api/v1/namespaces/${encodeURIComponent(storkNamespace)}/services/` +
    `${encodeURIComponent(storkService)}/proxy/${path.replace(/^\//, '')}`;
  try {
    return await ctx.api.request<T>(proxy, { query });
  } catch (error) {
    throw new CliError(
      `cannot read ${path} from stork through service ${storkNamespace}/${storkService} ` +
        `(use --stork-url to reach stork directly): ${describeError(error, ctx.api.server)}`,
    );
  }
}
