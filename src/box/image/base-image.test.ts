import { describe, expect, it } from 'vitest';
import { debianMirror } from './base-image.js';

describe('debianMirror', () => {
  it.each([
    [
      'deb822 sources',
      'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n',
      'http://mirror.example/debian',
    ],
    ['a one-line entry', 'deb http://ftp.example/debian/ bookworm main\n', 'http://ftp.example/debian'],
    [
      'options in brackets',
      'deb [arch=amd64] http://m.example/debian bookworm main',
      'http://m.example/debian',
    ],
    [
      'security and third-party repositories skipped',
      'URIs: http://deb.debian.org/debian-security\ndeb https://packages.example/apt stable main\nURIs: http://d.example/debian\n',
      'http://d.example/debian',
    ],
    ['a commented line', '# deb http://old.example/debian bookworm main\n', 'http://deb.debian.org/debian'],
    ['nothing configured', '', 'http://deb.debian.org/debian'],
  ])('%s', (_, sources, mirror) => {
    expect(debianMirror(sources)).toBe(mirror);
  });
});
