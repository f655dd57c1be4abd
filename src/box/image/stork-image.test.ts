import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { imageInputs, imagesToRemove, sourcesOutsideImage, storkImageRepository } from './stork-image.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const image = (tag: string): string => `${storkImageRepository}:${tag}`;

describe('imagesToRemove', () => {
  it.each([
    ['nothing else there', [], 'new', 4, []],
    [
      'fewer than the bound: all stay',
      [
        ['a', 1],
        ['b', 2],
      ],
      'new',
      4,
      [],
    ],
    [
      'beyond the bound: the least recently used go',
      [
        ['a', 1],
        ['b', 5],
        ['c', 3],
        ['d', 4],
        ['e', 2],
      ],
      'new',
      3,
      ['c', 'e', 'a'].map(image),
    ],
    [
      'an image without a record goes first',
      [
        ['a', 1],
        ['b', undefined],
      ],
      'new',
      2,
      [image('b')],
    ],
    [
      'the new image is never removed',
      [
        ['new', 0],
        ['a', 9],
      ],
      'new',
      1,
      [image('a')],
    ],
  ] as const)('%s', (_, present, keep, kept, removed) => {
    const images = [
      ...present.map(([tag, lastUsedMs]) => ({ name: image(tag), lastUsedMs })),
      { name: image(keep), lastUsedMs: 0 },
    ];
    expect(imagesToRemove(images, image(keep), kept)).toEqual(removed);
  });

  it('never touches images of other repositories', () => {
    const images = [
      { name: 'localhost/other:1', lastUsedMs: 1 },
      { name: image('x'), lastUsedMs: 2 },
    ];
    expect(imagesToRemove(images, image('y'), 1)).toEqual([image('x')]);
  });
});

describe('imageInputs', () => {
  it('holds what the Dockerfile copies and nothing of the box', async () => {
    const files = await imageInputs(repo);
    expect(files).toContain('src/daemon/main.ts');
    expect(files).toContain('proto/openstorage/api.proto');
    expect(files.filter((f) => f.startsWith('src/box/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.test.ts'))).toEqual([]);
  });

  it('leaves out exactly what .dockerignore and the build leave out', async () => {
    const dockerignore = (await readFile(`${repo}.dockerignore`, 'utf8')).split('\n');
    const build = JSON.parse(await readFile(`${repo}tsconfig.build.json`, 'utf8')) as { exclude: string[] };
    for (const dir of sourcesOutsideImage) {
      expect(dockerignore).toContain(dir);
      expect(build.exclude).toContain(`${dir}/**`);
    }
  });
});
