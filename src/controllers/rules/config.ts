/** How snapshot rules run; every duration in milliseconds. */
export interface RulesConfig {
  /**
   * How long one run of a foreground command may take (default 60 s). Exec cannot kill the remote
   * process, so a command that times out may keep running in its pod; the attempt counts as failed.
   */
  readonly commandTimeoutMs: number;
  /**
   * Attempts per pod for a foreground command that fails (non-zero exit, exec error or timeout), the
   * first included (default 3). Stork tries 12 times, 5 s apart, which holds a failing snapshot for a
   * minute; three attempts ride out a container restart without stalling every snapshot of a broken app.
   */
  readonly commandAttempts: number;
  /** Pause between attempts (default 5 s, as Stork). */
  readonly retryIntervalMs: number;
  /**
   * How long a background command has to reach `${WAIT_CMD}` in every pod (default 5 min; Stork's
   * executor allows 450 checks 2 s apart).
   */
  readonly backgroundReadyTimeoutMs: number;
  /** How often readiness of background commands is checked (default 2 s, as Stork). */
  readonly backgroundPollIntervalMs: number;
  /**
   * The longest a background command may hold its application (default 30 min): the in-pod wait script
   * lets go by itself then, even if stork died and nobody released it, and stork stops waiting for the
   * command's session.
   */
  readonly backgroundMaxHoldMs: number;
  /** Attempts to release a background command in one pod (default 10, `releaseRetryIntervalMs` apart). */
  readonly releaseAttempts: number;
  readonly releaseRetryIntervalMs: number;
  /**
   * How long, after releasing, stork waits for a background command to exit before it reports that it
   * has not (default 30 s). The release stands either way.
   */
  readonly releaseExitTimeoutMs: number;
  /**
   * Where, inside the pods, the wait script and its done and kill files live (default `/tmp`, as Stork).
   * Names carry the task id and the pod UID, so pods sharing a file system never see each other's files.
   */
  readonly markerDir: string;
}

export const defaultRulesConfig: RulesConfig = {
  commandTimeoutMs: 60_000,
  commandAttempts: 3,
  retryIntervalMs: 5_000,
  backgroundReadyTimeoutMs: 300_000,
  backgroundPollIntervalMs: 2_000,
  backgroundMaxHoldMs: 1_800_000,
  releaseAttempts: 10,
  releaseRetryIntervalMs: 2_000,
  releaseExitTimeoutMs: 30_000,
  markerDir: '/tmp',
};
