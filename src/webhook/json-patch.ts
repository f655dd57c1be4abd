import type { PatchOperation } from './admission-review.js';

/** Escapes one reference token of a JSON Pointer (RFC 6901). */
export function pointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The patch that makes a pod name `schedulerName`. `add` rather than `replace`: on an object member, `add`
 * sets it whether or not it is present, so the patch applies even to a pod the API server has not
 * defaulted (JSON Patch `replace` fails on a missing member).
 */
export function schedulerNamePatch(schedulerName: string): PatchOperation[] {
  return [{ op: 'add', path: `/spec/${pointerToken('schedulerName')}`, value: schedulerName }];
}
