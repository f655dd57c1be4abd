import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { age, asList, formatDocument, formatTable, rfc822 } from './output.js';

describe('output', () => {
  it('lays tables out as kubectl: padded columns, three spaces apart, no trailing blanks', () => {
    expect(
      formatTable(
        ['NAME', 'PVC', 'TYPE'],
        [
          ['a', 'long-claim', ''],
          ['longer-name', 'c', 'x'],
        ],
      ),
    ).toBe(
      'NAME          PVC          TYPE\n' + 'a             long-claim\n' + 'longer-name   c            x\n',
    );
    expect(formatTable(['NAME'], [])).toBe('NAME\n');
  });

  it("prints times in Go's RFC822 layout, in UTC", () => {
    expect(rfc822('2026-03-04T05:06:07Z')).toBe('04 Mar 26 05:06 UTC');
    expect(rfc822('2026-12-31T23:59:59+01:00')).toBe('31 Dec 26 22:59 UTC');
    expect(rfc822(undefined)).toBe('');
    expect(rfc822('not a time')).toBe('');
  });

  it("prints kubectl's short ages", () => {
    const now = Date.parse('2026-01-10T00:00:00Z');
    expect(age('2026-01-09T23:59:15Z', now)).toBe('45s');
    expect(age('2026-01-09T23:30:00Z', now)).toBe('30m');
    expect(age('2026-01-09T19:00:00Z', now)).toBe('5h');
    expect(age('2026-01-07T00:00:00Z', now)).toBe('3d');
    expect(age(undefined, now)).toBe('<unknown>');
  });

  it('prints documents as JSON or YAML that parse back, and lists as v1 Lists', () => {
    const list = asList([{ a: 1 }, { b: 'x: y' }]);
    expect(JSON.parse(formatDocument(list, 'json'))).toEqual({
      apiVersion: 'v1',
      kind: 'List',
      items: [{ a: 1 }, { b: 'x: y' }],
    });
    expect(parse(formatDocument(list, 'yaml'))).toEqual(list);
  });
});
