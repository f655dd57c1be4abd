import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { applyServerLimits, close, listen, serverCreateOptions, type ServerLimits } from './http.js';

/** A serving certificate and its key, PEM. */
export interface ServingKeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

function tlsOptions(certificate: ServingKeyPair) {
  return { cert: certificate.certPem, key: certificate.keyPem, minVersion: 'TLSv1.2' } as const;
}

/**
 * An HTTPS server with stork's bounds (TLS 1.2 or newer, a 5 s handshake, the {@link ServerLimits})
 * whose certificate can be replaced while it runs: new connections get the new one, connections
 * already open keep theirs. The webhook and the status port are each one of these.
 */
export class HttpsServer {
  private readonly server: Server;

  constructor(
    certificate: ServingKeyPair,
    handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
    limits?: Partial<ServerLimits>,
  ) {
    this.server = createServer(
      { ...serverCreateOptions, ...tlsOptions(certificate), handshakeTimeout: 5_000 },
      (req, res) => {
        void handler(req, res);
      },
    );
    applyServerLimits(this.server, limits);
  }

  /** Swaps the serving certificate in place (hot reload; no restart, no dropped connections). */
  setCertificate(certificate: ServingKeyPair): void {
    this.server.setSecureContext(tlsOptions(certificate));
  }

  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return listen(this.server, port, host);
  }

  /** Stops accepting connections, lets in-flight requests finish, then closes idle ones. */
  close(graceMs?: number): Promise<void> {
    return close(this.server, graceMs);
  }
}
