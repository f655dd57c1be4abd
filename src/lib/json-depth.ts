/**
 * Whether JSON text nests objects and arrays deeper than `limit`, found by one pass over the characters
 * (strings skipped) without parsing. V8's JSON.parse spends half a second of one thread on a megabyte of
 * `[[[[…`: checking first keeps a hostile body from blocking the event loop. Kubernetes objects nest a few
 * tens of levels at most.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** How deep a request body may nest (a pod is about 10 levels deep). */
export const maxJsonDepth = 100;
