import { isAlreadyExists, isConflict } from './errors.js';

/** How many times a read-modify-write is tried before its conflict is thrown (client-go's default is 5). */
export const conflictAttempts = 5;

/**
 * Runs a read-modify-write (`attempt` reads the object, decides, and writes the version it read) again
 * from a fresh read while its write loses a race: a Conflict (someone wrote since the read) or an
 * AlreadyExists (someone created it since the read found nothing). As client-go's `retry.RetryOnConflict`:
 * at most `attempts` times, then the last error is thrown; any other error is thrown at once.
 * `attempt` gets its number (0-based), to log a re-read.
 */
export async function retryOnConflict<T>(
  attempt: (n: number) => Promise<T>,
  attempts = conflictAttempts,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if ((isConflict(error) || isAlreadyExists(error)) && n + 1 < attempts) continue;
      throw error;
    }
  }
}
