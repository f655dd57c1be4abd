// The container image, built for real from the project's Dockerfile (buildah, on a base image made with
// debootstrap and the official Node.js 24), and stork run in it with podman.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageUser } from '../../src/box/image/base-image.js';
import { podman, podmanRun } from '../../src/box/image/containers.js';
import { ensureStorkImage, type StorkImage } from '../../src/box/image/stork-image.js';
import { imageVersions } from '../../src/box/versions.js';
import packageLock from '../../package-lock.json' with { type: 'json' };
import packageJson from '../../package.json' with { type: 'json' };

describe('the stork image, built from the Dockerfile', () => {
  let image: StorkImage;
  beforeAll(async () => {
    // Any failing step fails this hook, and with it every test below.
    image = await ensureStorkImage({ log: (line) => console.error(line) });
    console.error(
      `[image] ${image.name}: ${(image.sizeBytes / 1e6).toFixed(0)} MB (build ${image.buildSeconds}s)`,
    );
  }, 1_200_000);

  it('runs stork: --help prints the usage of the daemon', async () => {
    const usage = await podmanRun(image.name, ['--help']);
    expect(usage).toMatch(/Usage: stork/);
    expect(usage).toMatch(/--driver/);
  });

  it(`runs on Node.js ${imageVersions.node} as the numeric non-root user ${imageUser.uid}`, async () => {
    const config = JSON.parse(
      await podman(['image', 'inspect', '--format', '{{json .Config}}', image.name]),
    ) as {
      User?: string;
      Entrypoint?: string[];
    };
    expect(config.User).toBe(`${imageUser.uid}:${imageUser.gid}`);
    expect(config.Entrypoint).toEqual(['node', '/app/dist/daemon/main.js']);
    const out = await podmanRun(image.name, ['-c', 'id -u; id -g; node --version'], ['--entrypoint', 'sh']);
    expect(out.trim().split('\n')).toEqual([
      String(imageUser.uid),
      String(imageUser.gid),
      `v${imageVersions.node}`,
    ]);
  });

  it('holds the production dependencies, installed, and none of the development ones', async () => {
    const dependencies = Object.keys(packageJson.dependencies);
    const devDependencies = Object.keys(packageJson.devDependencies);
    const probe = [...dependencies, ...devDependencies]
      .map((d) => `test -f node_modules/${d}/package.json && echo "${d} yes" || echo "${d} no"`)
      .join('; ');
    const found = new Map(
      (await podmanRun(image.name, ['-c', probe], ['--entrypoint', 'sh']))
        .trim()
        .split('\n')
        .map((line) => line.split(' ') as [string, string]),
    );
    for (const dependency of dependencies) expect(found.get(dependency), dependency).toBe('yes');
    // A development dependency that a production one also needs (@types/node, for the Kubernetes client)
    // is installed; the lockfile marks the rest `dev`, and those must be absent.
    const lock = packageLock as { packages: Record<string, { dev?: boolean }> };
    const devOnly = devDependencies.filter((d) => lock.packages[`node_modules/${d}`]?.dev === true);
    expect(devOnly).toEqual(expect.arrayContaining(['typescript', 'vitest', 'eslint', 'tsx']));
    for (const dependency of devOnly) expect(found.get(dependency), dependency).toBe('no');
  });

  it("the Dockerfile's install check fails when a dependency is missing (what a silent npm failure leaves)", async () => {
    // `npm ls --omit=dev` is what stops the build after an `npm ci` that exited 0 without installing.
    const dockerfile = await readFile(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev [^\n]*&& npm ls --omit=dev --all/);
    expect(dockerfile).toMatch(/RUN npm ci --ignore-scripts && npm ls --all/);
    const check = 'npm ls --omit=dev --all >/dev/null 2>&1 && echo complete || echo incomplete';
    const intact = await podmanRun(image.name, ['-c', check], ['--entrypoint', 'sh', '--user', '0']);
    expect(intact.trim()).toBe('complete');
    const broken = await podmanRun(
      image.name,
      ['-c', `rm -rf node_modules/commander; ${check}`],
      ['--entrypoint', 'sh', '--user', '0'],
    );
    expect(broken.trim()).toBe('incomplete');
  });
});
