/**
 * The AdmissionReview wire format (`admission.k8s.io/v1`): decoding and validating what the API server
 * sends, and building the answer. Only the fields the webhook reads are typed.
 */

export const admissionApiVersion = 'admission.k8s.io/v1';

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly operation: string;
  readonly namespace: string;
  readonly name: string;
  readonly subResource: string;
  /** The object being admitted, as the API server sent it (already defaulted). */
  readonly object: unknown;
}

/** One JSON Patch (RFC 6902) operation. */
export interface PatchOperation {
  readonly op: 'add' | 'replace' | 'remove' | 'test';
  readonly path: string;
  readonly value?: unknown;
}

export interface AdmissionResponseBody {
  readonly apiVersion: typeof admissionApiVersion;
  readonly kind: 'AdmissionReview';
  readonly response: {
    readonly uid: string;
    readonly allowed: true;
    readonly patchType?: 'JSONPatch';
    /** Base64 of the JSON Patch document. */
    readonly patch?: string;
    readonly warnings?: readonly string[];
  };
}

/** The body is not an AdmissionReview this webhook can answer; the message says what is wrong. */
export class AdmissionDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdmissionDecodeError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(record: Record<string, unknown>, key: string, where: string): string {
  const value = record[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new AdmissionDecodeError(`${where}.${key} must be a string`);
  return value;
}

/**
 * Validates a parsed body as an AdmissionReview v1 with a request. Other API versions are refused: the
 * webhook registers for v1 only, so anything else is a misconfigured or foreign caller.
 */
export function decodeAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw new AdmissionDecodeError('the body is not a JSON object');
  if (body.kind !== 'AdmissionReview')
    throw new AdmissionDecodeError(`kind must be AdmissionReview, got ${JSON.stringify(body.kind)}`);
  if (body.apiVersion !== admissionApiVersion) {
    throw new AdmissionDecodeError(
      `apiVersion must be ${admissionApiVersion}, got ${JSON.stringify(body.apiVersion)}`,
    );
  }
  const request = body.request;
  if (!isRecord(request)) throw new AdmissionDecodeError('request is missing');
  const uid = optionalString(request, 'uid', 'request');
  if (uid === '') throw new AdmissionDecodeError('request.uid is missing');
  const kind = request.kind;
  if (!isRecord(kind)) throw new AdmissionDecodeError('request.kind is missing');
  const operation = optionalString(request, 'operation', 'request');
  if (operation === '') throw new AdmissionDecodeError('request.operation is missing');
  if (operation === 'CREATE' && !isRecord(request.object))
    throw new AdmissionDecodeError('request.object must be an object for CREATE');
  return {
    uid,
    kind: {
      group: optionalString(kind, 'group', 'request.kind'),
      version: optionalString(kind, 'version', 'request.kind'),
      kind: optionalString(kind, 'kind', 'request.kind'),
    },
    operation,
    namespace: optionalString(request, 'namespace', 'request'),
    name: optionalString(request, 'name', 'request'),
    subResource: optionalString(request, 'subResource', 'request'),
    object: request.object,
  };
}

/** The answer: always allowed (the webhook only ever mutates), with the patch if there is one. */
export function admissionResponse(uid: string, patch: readonly PatchOperation[]): AdmissionResponseBody {
  return {
    apiVersion: admissionApiVersion,
    kind: 'AdmissionReview',
    response:
      patch.length === 0
        ? { uid, allowed: true }
        : {
            uid,
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
          },
  };
}
