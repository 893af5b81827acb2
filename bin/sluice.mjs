#!/usr/bin/env node
// The `sluice` command: runs the TypeScript CLI through tsx's loader (no build step). `serve`
// starts the gateway as `npm start` does, bundled, without a loader in the process.
if (process.argv[2] === 'serve') {
  await import('./serve.mjs');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { runCli } = await import('../src/cli.ts');
  const code = await runCli(process.argv.slice(2));
  if (code >= 0) process.exit(code);
}
