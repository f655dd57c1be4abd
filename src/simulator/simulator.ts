// The storage simulator: a test and demo tool that stands in for a multi-node Portworx cluster. It
// serves the OpenStorage SDK subset of proto/openstorage/api.proto over gRPC (what the pxd driver
// talks) and a JSON admin API over HTTP (what tests use to change the cluster), both on loopback.
// Unlike osd's fake driver, it has many nodes and places replicas, so storage-aware scheduling and
// health monitoring can be tested against it. It stores no data.
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { ServerCredentials, type Server as GrpcServer } from '@grpc/grpc-js';
import { createAdminServer } from './admin-server.js';
import { SimulatorState, type SimNodeSpec } from './simulator-state.js';
import { createSdkServer } from './sdk-server.js';

export interface SimulatorOptions {
  readonly nodes: readonly SimNodeSpec[];
  /** When set, gRPC calls must carry `authorization: bearer <token>`. The admin API is not guarded. */
  readonly token?: string;
  /** 0 (the default) picks a free port. */
  readonly grpcPort?: number;
  /** 0 (the default) picks a free port. */
  readonly adminPort?: number;
  /** Reported as the StorageCluster id and name. */
  readonly clusterId?: string;
}

export interface RunningSimulator {
  /** `127.0.0.1:port`, for the driver's endpoint option. */
  readonly grpcEndpoint: string;
  /** `http://127.0.0.1:port`, the admin API. */
  readonly adminUrl: string;
  /** The cluster itself, for tests that change it directly rather than over HTTP. */
  readonly state: SimulatorState;
  /** Stops both servers; calls in flight are cut after a short grace period. Idempotent. */
  stop(): Promise<void>;
}

const host = '127.0.0.1';
const shutdownGraceMs = 2_000;

function checkPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`invalid ${what} ${port}: expected 0 (any free port) to 65535`);
  }
  return port;
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const grpcPort = checkPort(options.grpcPort ?? 0, 'grpcPort');
  const adminPort = checkPort(options.adminPort ?? 0, 'adminPort');
  const state = new SimulatorState(options.nodes);
  const grpcServer = createSdkServer(state, {
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.clusterId !== undefined ? { clusterId: options.clusterId } : {}),
  });
  const boundGrpcPort = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(`${host}:${grpcPort}`, ServerCredentials.createInsecure(), (error, port) => {
      if (error)
        reject(new Error(`simulator: cannot listen for gRPC on ${host}:${grpcPort}: ${error.message}`));
      else resolve(port);
    });
  });

  const adminServer = createAdminServer(state);
  try {
    await new Promise<void>((resolve, reject) => {
      adminServer.once('error', (error) => {
        reject(
          new Error(`simulator: cannot listen for the admin API on ${host}:${adminPort}: ${error.message}`),
        );
      });
      adminServer.listen(adminPort, host, resolve);
    });
  } catch (error) {
    grpcServer.forceShutdown();
    throw error;
  }
  const boundAdminPort = (adminServer.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  return {
    grpcEndpoint: `${host}:${boundGrpcPort}`,
    adminUrl: `http://${host}:${boundAdminPort}`,
    state,
    stop: () =>
      (stopping ??= Promise.all([stopGrpc(grpcServer), stopHttp(adminServer)]).then(() => undefined)),
  };
}

/** Graceful first, so answers in flight arrive; forced after the grace period, so stop() always ends. */
function stopGrpc(server: GrpcServer): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, shutdownGraceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function stopHttp(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    // Keep-alive connections would hold close() open until they time out.
    server.closeAllConnections();
  });
}
