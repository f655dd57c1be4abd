/**
 * Whether JSON text nests objects and arrays deeper than `limit`, found by one pass over the characters
 * (strings skipped) without parsing. V8's JSON.parse spends half a second of one thread on a megabyte of
 * `[[[[…`: checking first keeps a hostile body from blocking the event loop. Kubernetes objects nest a few
 * tens of levels at most.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: jump to its closing quote with indexOf (most of an extender request is node names),
      // past quotes escaped by an odd number of backslashes. Unterminated: nothing nests after it.
      let close = text.indexOf('"', i + 1);
      while (close !== -1 && escaped(text, close)) close = text.indexOf('"', close + 1);
      if (close === -1) return false;
      i = close;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Whether the character at `at` is escaped: preceded by an odd number of backslashes. */
export function escaped(text: string, at: number): boolean {
  let backslashes = 0;
  for (let j = at - 1; j >= 0 && text.charCodeAt(j) === 0x5c; j--) backslashes++;
  return backslashes % 2 === 1;
}

/** How deep a request body may nest (a pod is about 10 levels deep). */
export const maxJsonDepth = 100;
