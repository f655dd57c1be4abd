import { maxJsonDepth } from '../lib/json-depth.js';
import { parseJsonBody } from '../lib/json-body.js';
import { HttpError } from '../lib/http.js';
import { splitNodeNames } from './names-body.js';
import { parseExtenderArgs, WireError, type ExtenderArgs } from './wire.js';

/**
 * Reads a filter or prioritize body into ExtenderArgs; a malformed one is a 400 with a short reason.
 * A names-only body of the plain shape has its node names taken out without JSON.parse (see
 * splitNodeNames), so only the Pod is parsed; any other body is parsed whole, depth-checked first.
 */
export function readExtenderArgs(text: string): ExtenderArgs {
  const split = splitNodeNames(text, maxJsonDepth);
  if (split) {
    let rest: unknown;
    try {
      rest = JSON.parse(split.rest);
    } catch {
      rest = undefined;
    }
    // A body the cut-out part leaves invalid is parsed whole below, for the reason JSON.parse gives.
    if (rest !== undefined) return decoded(() => parseExtenderArgs(rest, split.names));
  }
  const body = parseJsonBody(text);
  return decoded(() => parseExtenderArgs(body));
}

function decoded(parse: () => ExtenderArgs): ExtenderArgs {
  try {
    return parse();
  } catch (error) {
    if (error instanceof WireError) throw new HttpError(400, `Decode error: ${error.message}`);
    throw error;
  }
}
