#!/usr/bin/env node
// `npm start` and `sluice serve`: the gateway as plain JavaScript. bin/bundle.mjs bundles the
// TypeScript in a child process, then the bundle is imported here: no TypeScript loader and no
// bundler in the gateway's process. Under tsx the same gateway holds about 50 MB more (tsx's module
// hooks run in a second V8 isolate) and spends more CPU per request; bundling in this process left
// about 20 MB more resident for the process's life (the bundler's output and the heap it grew).
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundler = fileURLToPath(new URL('bundle.mjs', import.meta.url));
const bundle = execFileSync(process.execPath, [bundler], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const { runNodeGateway } = await import(pathToFileURL(bundle).href);
try {
  await runNodeGateway();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
