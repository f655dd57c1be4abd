import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { CommandContext } from './context.js';
import { describeError } from './context.js';
import { CliError } from './output.js';
import { errorText } from '../lib/errors.js';

/**
 * The header stork also reads the caller's token from: the API server's service proxy removes
 * `Authorization` once it has authenticated the user (the same name as in src/extender/status-server.ts).
 */
const forwardedTokenHeader = 'X-Stork-Authorization';

/**
 * Reads one of stork's read-only documents (`/explain`, `/hyperconvergence`) from its status port, which
 * serves authenticated callers only: storkctl sends the kubeconfig's bearer token and stork asks the API
 * server who that is and whether they may read what the path shows (docs/storkctl.md). By default through
 * the API server's service proxy, so it works from anywhere kubectl does and reaches whichever replica the
 * service picks (every replica answers from its own caches); `--stork-url` talks to one directly.
 */
export async function storkDocument<T>(
  ctx: CommandContext,
  path: string,
  query: Record<string, string> = {},
): Promise<T> {
  const { storkUrl, storkNamespace, storkService } = ctx.options;
  let token: string | undefined;
  try {
    token = await ctx.api.bearerToken();
  } catch (error) {
    throw new CliError(`cannot read the kubeconfig's credentials: ${errorText(error)}`);
  }
  if (!token) {
    throw new CliError(
      `stork's ${path} needs a bearer token and this kubeconfig authenticates otherwise (a client ` +
        'certificate?): use a kubeconfig with a token, e.g. from `kubectl create token <service-account>`',
    );
  }
  if (storkUrl) return direct<T>(ctx, storkUrl, path, query, token);
  const service = storkService.split(':').map(encodeURIComponent).join(':');
  const proxy =
    `/api/v1/namespaces/${encodeURIComponent(storkNamespace)}/services/` +
    `${service}/proxy/${path.replace(/^\//, '')}`;
  try {
    return await ctx.api.request<T>(proxy, { query, headers: { [forwardedTokenHeader]: `Bearer ${token}` } });
  } catch (error) {
    throw new CliError(
      `cannot read ${path} from stork through service ${storkNamespace}/${storkService} ` +
        `(use --stork-url to reach stork directly): ${describeError(error, ctx.api.server)}`,
    );
  }
}

/** One replica at `--stork-url`, its certificate checked against `--stork-ca-file` when given. */
function direct<T>(
  ctx: CommandContext,
  storkUrl: string,
  path: string,
  query: Record<string, string>,
  token: string,
): Promise<T> {
  const url = new URL(path.replace(/^\//, ''), storkUrl.endsWith('/') ? storkUrl : `${storkUrl}/`);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  if (url.protocol !== 'https:')
    throw new CliError('--stork-url must be https:// (stork serves this port over TLS)');
  const caFile = ctx.options.storkCaFile;
  let ca: string | undefined;
  try {
    ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
  } catch (error) {
    throw new CliError(`cannot read --stork-ca-file: ${errorText(error)}`);
  }
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        ...(ca ? { ca } : {}),
        signal: AbortSignal.timeout(30_000),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new CliError(`stork answered ${status}: ${text.trim()}`));
            return;
          }
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new CliError(`stork answered something that is not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('error', (error) => reject(new CliError(`cannot reach stork at ${storkUrl}: ${error.message}`)));
    req.end();
  });
}
