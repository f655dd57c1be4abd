import { describe, expect, it } from 'vitest';
import { bool, commaList, duration, nonNegativeInt, percent, port, positiveInt } from './flag-values.js';

describe('flag values', () => {
  const good: [string, () => unknown, unknown][] = [
    ['positiveInt', () => positiveInt('--n')('3'), 3],
    ['nonNegativeInt', () => nonNegativeInt('--n')('0'), 0],
    ['duration in Go form', () => duration('--d')('1500ms'), 1500],
    ['duration in minutes', () => duration('--d')('2m'), 120_000],
    ['duration as bare seconds', () => duration('--d')('15'), 15_000],
    ['percent', () => percent('--p')('12.5'), 12.5],
    ['port', () => port('8099'), 8099],
    ['bool', () => bool('false'), false],
    ['commaList, blanks dropped', () => commaList(' a, b ,,c'), ['a', 'b', 'c']],
  ];
  it.each(good)('reads %s', (_, read, want) => {
    expect(read()).toEqual(want);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['positiveInt 0', () => positiveInt('--n')('0'), /--n must be a positive whole number, got "0"/],
    ['nonNegativeInt -1', () => nonNegativeInt('--n')('-1'), /--n must be a whole number >= 0/],
    ['duration 0s', () => duration('--d')('0s'), /--d must be a positive duration/],
    ['duration 1h', () => duration('--d')('1h'), /--d must be a positive duration/],
    ['percent 101', () => percent('--p')('101'), /--p must be a number from 0 to 100/],
    ['percent blank', () => percent('--p')(' '), /--p must be a number from 0 to 100/],
    ['port 65536', () => port('65536'), /not a port: "65536"/],
    ['bool yes', () => bool('yes'), /expected true or false, got "yes"/],
  ];
  it.each(bad)('refuses %s, naming the flag or the value', (_, read, message) => {
    expect(read).toThrow(message);
  });
});
