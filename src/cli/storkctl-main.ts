#!/usr/bin/env node
import { basename } from 'node:path';
import { runStorkctl } from './program.js';

// Installed as kubectl-stork, kubectl runs it for `kubectl stork ...`; help then says so.
const script = basename(process.argv[1] ?? 'storkctl');
const name = script.startsWith('kubectl-stork') ? 'kubectl stork' : 'storkctl';
const code = await runStorkctl(
  process.argv.slice(2),
  {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  },
  name,
);
process.exitCode = code;
