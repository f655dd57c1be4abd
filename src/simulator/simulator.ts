// The storage simulator: a test and demo tool that stands in for a multi-node Portworx cluster. It
// serves the OpenStorage SDK subset of proto/openstorage/api.proto over gRPC (what the pxd driver
// talks), the group snapshot of OpenStorage's REST volume API (which the SDK lacks) and a JSON admin API
// over HTTP (what tests use to change the cluster), all on loopback.
// Unlike osd's fake driver, it has many nodes and places replicas, so storage-aware scheduling and
// health monitoring can be tested against it. It stores no data.
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { ServerCredentials, type Server as GrpcServer } from '@grpc/grpc-js';
import { createAdminServer } from './admin-server.js';
import { SimulatorState, type SimNodeSpec } from './simulator-state.js';
import { createSdkServer } from './sdk-server.js';
import { createRestServer } from './rest-server.js';

export interface SimulatorOptions {
  readonly nodes: readonly SimNodeSpec[];
  /** When set, gRPC calls must carry `authorization: bearer <token>`. The admin API is not guarded. */
  readonly token?: string;
  /** 0 (the default) picks a free port. */
  readonly grpcPort?: number;
  /** 0 (the default) picks a free port. */
  readonly adminPort?: number;
  /** The REST volume API's group snapshot (Portworx's management port, 9001); 0 (the default) picks one. */
  readonly restPort?: number;
  /** Reported as the StorageCluster id and name. */
  readonly clusterId?: string;
}

export interface RunningSimulator {
  /** `127.0.0.1:port`, for the driver's endpoint option. */
  readonly grpcEndpoint: string;
  /** `http://127.0.0.1:port`, the admin API. */
  readonly adminUrl: string;
  /** `127.0.0.1:port`, the REST volume API (group snapshots), for the driver's REST endpoint option. */
  readonly restEndpoint: string;
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
  const restPort = checkPort(options.restPort ?? 0, 'restPort');
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
  const restServer = createRestServer(state, options.token);
  try {
    await listen(adminServer, adminPort, 'the admin API');
    await listen(restServer, restPort, 'the REST volume API');
  } catch (error) {
    grpcServer.forceShutdown();
    await Promise.all([stopHttp(adminServer), stopHttp(restServer)]);
    throw error;
  }
  const boundAdminPort = (adminServer.address() as AddressInfo).port;
  const boundRestPort = (restServer.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  return {
    grpcEndpoint: `${host}:${boundGrpcPort}`,
    adminUrl: `http://${host}:${boundAdminPort}`,
    restEndpoint: `${host}:${boundRestPort}`,
    state,
    stop: () =>
      (stopping ??= Promise.all([stopGrpc(grpcServer), stopHttp(adminServer), stopHttp(restServer)]).then(
        () => undefined,
      )),
  };
}

function listen(server: HttpServer, port: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      reject(new Error(`simulator: cannot listen for ${what} on ${host}:${port}: ${error.message}`));
    });
    server.listen(port, host, resolve);
  });
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
