import { errorText } from './errors.js';
import { HttpError } from './http.js';
import { maxJsonDepth, nestsDeeperThan } from './json-depth.js';

/**
 * Parses a request body as JSON, or throws a 400 with a short reason: nesting deeper than
 * {@link maxJsonDepth} is refused before parsing (see nestsDeeperThan), and a parse error says why.
 */
export function parseJsonBody(text: string): unknown {
  if (nestsDeeperThan(text, maxJsonDepth))
    throw new HttpError(400, `Decode error: JSON nested deeper than ${String(maxJsonDepth)} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `Decode error: ${errorText(error)}`);
  }
}
