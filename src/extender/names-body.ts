import { escaped } from '../lib/json-depth.js';

/** A node's name is a DNS subdomain: at most 253 characters. */
export const maxNodeNameLength = 253;

/** A names-only body cut in two: the node names, and the rest of the text with `null` in their place. */
export interface SplitNamesBody {
  readonly names: string[];
  /** The body with the NodeNames list replaced by `null`: only the Pod and small fields are left to parse. */
  readonly rest: string;
}

/**
 * Takes the top-level NodeNames list out of an ExtenderArgs body without JSON.parse: at thousands of
 * nodes that list is most of the body, and parsing it into an array of strings, checking it and
 * nesting over it again was most of what a names-only request cost beyond the transport. One pass over
 * the text, strings skipped with `indexOf`, as the depth check does.
 *
 * Only the plain shape is taken: exactly one top-level key that reads as NodeNames in any case, written
 * without escapes, holding a list of strings without escapes or control characters, each at most a
 * node name long, and nothing nested deeper than `depthLimit`. Anything else returns undefined, and the
 * caller parses the whole body as before, so a malformed body gets the same answer it always did.
 */
export function splitNodeNames(text: string, depthLimit: number): SplitNamesBody | undefined {
  let depth = 0;
  let names: string[] | undefined;
  let start = -1;
  let end = -1;
  // The next backslash at or after the scan (text.length when none): most bodies have none at all.
  let backslash = -1;
  const nextBackslash = (from: number): number => {
    if (backslash < from) {
      backslash = text.indexOf('\\', from);
      if (backslash === -1) backslash = text.length;
    }
    return backslash;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const close = stringEnd(text, i, nextBackslash);
      if (close === -1) return undefined;
      if (depth === 1) {
        const colon = skipSpace(text, close + 1);
        if (text.charCodeAt(colon) === 0x3a) {
          // A key of the top-level object. Escaped keys could spell NodeNames: leave those to JSON.parse.
          if (nextBackslash(i + 1) < close) return undefined;
          if (close - i - 1 === 9 && text.slice(i + 1, close).toLowerCase() === 'nodenames') {
            if (names) return undefined;
            start = skipSpace(text, colon + 1);
            if (text.charCodeAt(start) !== 0x5b) return undefined;
            names = [];
            end = readNames(text, start, names, nextBackslash);
            if (end === -1) return undefined;
            i = end - 1;
            continue;
          }
        }
      }
      i = close;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > depthLimit) return undefined;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  if (!names) return undefined;
  return { names, rest: `${text.slice(0, start)}null${text.slice(end)}` };
}

/** The index of the quote closing the string opened at `open`, or -1 if it is never closed. */
function stringEnd(text: string, open: number, nextBackslash: (from: number) => number): number {
  let close = text.indexOf('"', open + 1);
  if (close === -1 || nextBackslash(open + 1) > close) return close;
  while (close !== -1 && escaped(text, close)) close = text.indexOf('"', close + 1);
  return close;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/**
 * Reads `["a", "b", ...]` starting at its `[` into `names`; returns the index after its `]`, or -1 for
 * anything but plain strings (JSON.parse then decides what it is).
 */
function readNames(
  text: string,
  open: number,
  names: string[],
  nextBackslash: (from: number) => number,
): number {
  let i = skipSpace(text, open + 1);
  if (text.charCodeAt(i) === 0x5d) return i + 1;
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) return -1;
    const close = text.indexOf('"', i + 1);
    if (close === -1 || nextBackslash(i + 1) < close) return -1;
    if (close - i - 1 > maxNodeNameLength) return -1;
    for (let k = i + 1; k < close; k++) if (text.charCodeAt(k) < 0x20) return -1;
    names.push(text.slice(i + 1, close));
    i = skipSpace(text, close + 1);
    const c = text.charCodeAt(i);
    if (c === 0x5d) return i + 1;
    if (c !== 0x2c) return -1;
    i = skipSpace(text, i + 1);
  }
}
