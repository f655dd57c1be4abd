import { describe, expect, it } from 'vitest';
import { runStorkctl } from './program.js';

// Only what fails before any request: everything that talks to a cluster is tested in the box.
async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runStorkctl(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('storkctl command line', () => {
  it('prints help on stdout, exit 0', async () => {
    const result = await run('--help');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^Usage: storkctl/);
    expect(result.out).toContain('explain');
  });

  it('reports bad flags, values and commands as "Error: ..." with exit 1', async () => {
    expect(await run('get', 'snapshot', '--bogus')).toEqual({
      code: 1,
      out: '',
      err: "Error: unknown option '--bogus'\n",
    });
    expect((await run('-o', 'xml', 'get', 'snapshot')).err).toMatch(
      /^Error: option '-o, --output <format>' argument 'xml' is invalid/,
    );
    expect((await run('get', 'volumes')).err).toMatch(/^Error: unknown command 'volumes'/);
    expect(await run('explain', 'pod')).toEqual({
      code: 1,
      out: '',
      err: "Error: missing required argument 'name'\n",
    });
  });

  it('checks arguments before contacting the cluster (Stork: "Size needs to be provided")', async () => {
    const kubeconfig = ['--kubeconfig', '/nonexistent'];
    expect(await run(...kubeconfig, 'create', 'pvc', 'x', '-s', 's')).toEqual({
      code: 1,
      out: '',
      err: 'Error: Size needs to be provided\n',
    });
    expect((await run(...kubeconfig, 'create', 'snapshot', 'a', 'b', '-p', 'c')).err).toBe(
      'Error: Exactly one argument needs to be provided for snapshot name\n',
    );
    expect((await run(...kubeconfig, 'get', 'snapshot')).err).toMatch(/^Error: cannot load the kubeconfig: /);
  });
});
