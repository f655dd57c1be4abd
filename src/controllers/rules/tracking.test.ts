import { describe, expect, it } from 'vitest';
import { formatTasks, parseTasks, recordTask } from './tracking.js';

const targets = [
  { namespace: 'db', name: 'a', uid: 'u1', container: 'main' },
  { namespace: 'db', name: 'b', uid: 'u2', container: 'main' },
];

describe('the running-commands annotation', () => {
  it("writes one task as Stork's object and several as a list, and reads both back", () => {
    const one = recordTask('t1', targets);
    expect(JSON.parse(formatTasks([one]) ?? '')).toEqual({
      taskID: 't1',
      container: 'main',
      pods: [
        { uid: 'u1', namespace: 'db', name: 'a', container: 'main' },
        { uid: 'u2', namespace: 'db', name: 'b', container: 'main' },
      ],
    });
    const two = [one, recordTask('t2', targets.slice(1))];
    expect(parseTasks(formatTasks(two) ?? '')).toEqual(two);
    expect(formatTasks([])).toBeNull();
  });

  it("reads Stork's own record, where pods have a UID but no name", () => {
    expect(parseTasks('{"taskID":"t","pods":[{"uid":"u1","namespace":"db"}],"container":"mysql"}')).toEqual([
      { taskID: 't', container: 'mysql', pods: [{ uid: 'u1', namespace: 'db' }] },
    ]);
  });

  it('says what is wrong with a record it cannot use', () => {
    expect(() => parseTasks('{')).toThrow(/is not JSON/);
    expect(() => parseTasks('{}')).toThrow(/entry without taskID and pods: \{\}/);
    expect(() => parseTasks('{"taskID":"t","pods":[{"namespace":"db"}]}')).toThrow(
      /task t lists a pod without/,
    );
  });
});
