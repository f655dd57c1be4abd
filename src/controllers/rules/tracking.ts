import type { PodTarget } from './rule-targets.js';

/**
 * The snapshot annotation that records background commands still held in pods, so that a stork that
 * restarts in the middle of a snapshot can release them (Stork's key and JSON shape, plus the container
 * per pod).
 */
export const runningCommandsAnnotation = 'stork/pods-with-running-cmds';

export interface RecordedPod {
  readonly uid: string;
  readonly namespace: string;
  /** Stork itself records only the UID; the pod is then found by it. */
  readonly name?: string;
  readonly container?: string;
}

export interface RecordedTask {
  readonly taskID: string;
  readonly pods: readonly RecordedPod[];
  readonly container?: string;
}

export function recordTask(taskID: string, targets: readonly PodTarget[]): RecordedTask {
  const container = targets[0]?.container;
  return {
    taskID,
    pods: targets.map((t) => ({ uid: t.uid, namespace: t.namespace, name: t.name, container: t.container })),
    ...(container === undefined ? {} : { container }),
  };
}

/** The annotation value for the tasks in flight: one object (as Stork writes it) or a list of them. */
export function formatTasks(tasks: readonly RecordedTask[]): string | null {
  if (tasks.length === 0) return null;
  return JSON.stringify(tasks.length === 1 ? tasks[0] : tasks);
}

/** Reads the annotation (either form). Throws a clear error for a value that is not what stork writes. */
export function parseTasks(value: string): RecordedTask[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(`annotation ${runningCommandsAnnotation} is not JSON: ${value.slice(0, 200)}`);
  }
  const list = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
  return list.map((entry) => {
    if (!isRecord(entry) || typeof entry.taskID !== 'string' || !Array.isArray(entry.pods)) {
      throw new Error(
        `annotation ${runningCommandsAnnotation} has an entry without taskID and pods: ${JSON.stringify(entry)}`,
      );
    }
    const taskID = entry.taskID;
    // Task ids name files in the pods (and are whatever a user wrote into the annotation): stork's own are
    // UUIDs, so anything that could leave the marker directory or the shell word is refused.
    if (!taskIdPattern.test(taskID)) {
      throw new Error(
        `annotation ${runningCommandsAnnotation} has an invalid task id ${JSON.stringify(taskID.slice(0, 80))}: ` +
          'letters, digits, - and _ only, at most 64',
      );
    }
    const pods = (entry.pods as unknown[]).map((pod) => {
      const uid = isRecord(pod) && typeof pod.uid === 'string' ? pod.uid : '';
      const name = isRecord(pod) && typeof pod.name === 'string' ? pod.name : '';
      if (!isRecord(pod) || typeof pod.namespace !== 'string' || (uid === '' && name === '')) {
        throw new Error(
          `annotation ${runningCommandsAnnotation}: task ${taskID} lists a pod without namespace and ` +
            'uid or name',
        );
      }
      return {
        uid,
        namespace: pod.namespace,
        ...(name === '' ? {} : { name }),
        ...(typeof pod.container === 'string' ? { container: pod.container } : {}),
      };
    });
    return {
      taskID,
      pods,
      ...(typeof entry.container === 'string' ? { container: entry.container } : {}),
    };
  });
}

const taskIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * The recorded pods stork may act on for a snapshot: only those of the snapshot's own namespace (the
 * record is user-writable, and may name any pod); the others, as `namespace/name`, to report.
 */
export function podsInScope(
  tasks: readonly RecordedTask[],
  namespace: string,
): { tasks: RecordedTask[]; refused: string[] } {
  const refused: string[] = [];
  const scoped = tasks.map((task) => ({
    ...task,
    pods: task.pods.filter((pod) => {
      if (pod.namespace === namespace) return true;
      refused.push(`${pod.namespace}/${pod.name ?? pod.uid}`);
      return false;
    }),
  }));
  return { tasks: scoped, refused };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
