// Loads proto/openstorage/api.proto at run time (no generated code), for the SDK client here and for the
// simulator, which must speak exactly the same messages.
import { fileURLToPath } from 'node:url';
import type { MethodDefinition, PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';
import protoLoader from '@grpc/proto-loader';
import type { SdkMethod } from './sdk-types.js';

/**
 * The proto file, relative to this module: it runs from src/drivers/portworx/ under tsx and from
 * dist/drivers/portworx/ after `npm run build` (rootDir src), so the repository's `proto/` directory is
 * three levels up either way. An image must ship proto/ beside dist/.
 */
export const openStorageProtoPath = fileURLToPath(
  new URL('../../../proto/openstorage/api.proto', import.meta.url),
);

/** The proto package; services are `openstorage.api.<Service>`. */
export const openStoragePackage = 'openstorage.api';

/**
 * The decoding options sdk-types.ts is written for: proto field names as they are, 64-bit integers as
 * strings (sizes can exceed 2^53 in principle), enums by name, and absent fields filled with defaults.
 */
const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
};

let cached: PackageDefinition | undefined;

/** The package definition, loaded once per process. */
export function openStorageDefinition(): PackageDefinition {
  cached ??= protoLoader.loadSync(openStorageProtoPath, loaderOptions);
  return cached;
}

/** One service's definition, e.g. `OpenStorageVolume`. */
export function openStorageService(service: string): ServiceDefinition {
  const definition = openStorageDefinition()[`${openStoragePackage}.${service}`];
  if (!definition || !isServiceDefinition(definition)) {
    throw new Error(`service ${service} is not in ${openStorageProtoPath}`);
  }
  return definition;
}

/** One method's definition (path and codecs), from its `Service/Method` name. */
export function openStorageMethod(method: SdkMethod): MethodDefinition<object, object> {
  const [service = '', name = ''] = method.split('/');
  const definition = openStorageService(service)[name];
  if (!definition) throw new Error(`method ${method} is not in ${openStorageProtoPath}`);
  return definition;
}

/** Service definitions are maps of method definitions; message and enum definitions carry `format`. */
function isServiceDefinition(definition: PackageDefinition[string]): definition is ServiceDefinition {
  return !('format' in definition);
}
