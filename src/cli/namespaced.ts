// Get and delete one named object of the current namespace, a missing one as kubectl words it.
import type { ResourceType } from '../k8s/paths.js';
import { isNotFound } from '../k8s/errors.js';
import type { CommandContext } from './context.js';
import { CliError } from './output.js';

/**
 * `<kind> "<name>" not found in namespace "<namespace>"`, as kubectl and Stork's storkctl say it; the
 * name is cut at 253 characters (the longest object name) so a typed argument is never echoed unbounded.
 */
export function notFoundInNamespace(ctx: CommandContext, kind: string, name: string): CliError {
  return new CliError(`${kind} "${name.slice(0, 253)}" not found in namespace "${ctx.namespace}"`);
}

/** The named object of `ctx.namespace`; a missing one is the not-found CliError. */
export async function getInNamespace<T>(
  ctx: CommandContext,
  type: ResourceType,
  kind: string,
  name: string,
): Promise<T> {
  try {
    return await ctx.api.get<T>(type, { namespace: ctx.namespace, name });
  } catch (error) {
    if (isNotFound(error)) throw notFoundInNamespace(ctx, kind, name);
    throw error;
  }
}

/** Deletes the named object of `ctx.namespace`; a missing one is the not-found CliError. */
export async function deleteInNamespace(
  ctx: CommandContext,
  type: ResourceType,
  kind: string,
  name: string,
): Promise<void> {
  try {
    await ctx.api.delete(type, { namespace: ctx.namespace, name });
  } catch (error) {
    if (isNotFound(error)) throw notFoundInNamespace(ctx, kind, name);
    throw error;
  }
}
