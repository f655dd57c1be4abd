import { describe, expect, it } from 'vitest';
import { AdmissionDecodeError, admissionResponse, decodeAdmissionReview } from './admission-review.js';

const valid = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '705ab4f5',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'app',
    object: { metadata: { name: 'p' } },
  },
};

describe('decodeAdmissionReview', () => {
  it('reads the fields the webhook uses', () => {
    expect(decodeAdmissionReview(valid)).toEqual({
      uid: '705ab4f5',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'app',
      name: '',
      subResource: '',
      object: { metadata: { name: 'p' } },
    });
  });

  it.each([
    ['a non-object', [], /not a JSON object/],
    ['another kind', { ...valid, kind: 'Pod' }, /kind must be AdmissionReview/],
    [
      'v1beta1',
      { ...valid, apiVersion: 'admission.k8s.io/v1beta1' },
      /apiVersion must be admission.k8s.io\/v1/,
    ],
    ['no request', { ...valid, request: undefined }, /request is missing/],
    ['no uid', { ...valid, request: { ...valid.request, uid: '' } }, /uid is missing/],
    ['a numeric uid', { ...valid, request: { ...valid.request, uid: 7 } }, /uid must be a string/],
    ['no kind', { ...valid, request: { ...valid.request, kind: 'Pod' } }, /request.kind is missing/],
    [
      'no operation',
      { ...valid, request: { ...valid.request, operation: undefined } },
      /operation is missing/,
    ],
    ['CREATE without object', { ...valid, request: { ...valid.request, object: null } }, /object must be/],
  ])('refuses %s with the reason', (_, body, message) => {
    expect(() => decodeAdmissionReview(body)).toThrow(AdmissionDecodeError);
    expect(() => decodeAdmissionReview(body)).toThrow(message);
  });
});

describe('admissionResponse', () => {
  it('allows without a patch when there is nothing to change', () => {
    expect(admissionResponse('u1', [])).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u1', allowed: true },
    });
  });

  it('carries the patch base64-encoded as a JSONPatch', () => {
    const patch = [{ op: 'add' as const, path: '/spec/schedulerName', value: 'stork' }];
    const { response } = admissionResponse('u2', patch);
    expect(response.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8'))).toEqual(patch);
  });
});
