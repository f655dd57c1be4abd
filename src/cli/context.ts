import { KubeApi } from '../k8s/api.js';
import { KubeApiError } from '../k8s/errors.js';
import { loadKubeConfig } from '../k8s/kubeconfig.js';
import { CliError, type Io, type OutputFormat } from './output.js';
import { errorText } from '../lib/errors.js';

/** The flags every command takes (kubectl's names). */
export interface GlobalOptions {
  namespace: string;
  kubeconfig?: string;
  context?: string;
  output: OutputFormat;
  storkNamespace: string;
  storkService: string;
  storkUrl?: string;
  /** The CA that signed stork's serving certificate, for `--stork-url`. */
  storkCaFile?: string;
}

/** What a command runs with: its flags, where to write, and a client made on first use. */
export class CommandContext {
  private client: KubeApi | undefined;

  constructor(
    readonly options: GlobalOptions,
    readonly io: Io,
  ) {}

  get namespace(): string {
    return this.options.namespace;
  }

  get api(): KubeApi {
    if (!this.client) {
      try {
        this.client = new KubeApi(
          loadKubeConfig({ kubeconfig: this.options.kubeconfig, context: this.options.context }),
        );
      } catch (error) {
        throw new CliError(`cannot load the kubeconfig: ${errorText(error)}`);
      }
    }
    return this.client;
  }

  close(): void {
    this.client?.close();
  }
}

/** The message a user reads for a failure: the API server's own words, or why it could not be reached. */
export function describeError(error: unknown, server: string | undefined): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof KubeApiError) {
    const { body } = error;
    const message =
      typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
    return typeof message === 'string' && message !== '' ? message : error.message;
  }
  const code = (error as { code?: string } | undefined)?.code;
  if (code && /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN)$/.test(code)) {
    return `cannot reach the Kubernetes API server${server ? ` at ${server}` : ''}: ${errorText(error)}`;
  }
  return errorText(error);
}
