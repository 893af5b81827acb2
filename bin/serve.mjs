#!/usr/bin/env node
// `npm start` and `sluice serve`: the gateway as plain JavaScript. src/entry/node.ts and what it
// imports are bundled with esbuild at every start (a fraction of a second; packages in
// node_modules stay external) into node_modules/.cache/sluice/, then imported: no TypeScript
// loader stays in the process. Under tsx the same gateway holds about 50 MB more (tsx's module
// hooks run in a second V8 isolate) and spends more CPU per request (its esbuild keeps function
// names: a defineProperty for every closure created). bench/RESULTS.md has both.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, stop } from 'esbuild';

const root = new URL('..', import.meta.url);
const entry = fileURLToPath(new URL('src/entry/node.ts', root));
const dir = fileURLToPath(new URL('node_modules/.cache/sluice/', root));
const STALE_MS = 60 * 60 * 1000;

const { outputFiles } = await build({
  entryPoints: [entry],
  outfile: join(dir, 'node.mjs'),
  write: false,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  // Modules find files next to their sources (src/db/migrate.ts: ../../migrations). Every such
  // module sits two folders below the project root, as the entry does: give them its URL.
  define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
  sourcemap: 'linked',
  // Stack traces need the mappings only; the sources would be held in memory for nothing.
  sourcesContent: false,
  logLevel: 'warning',
});
// esbuild's service (a child process and a 7 MB message buffer in this heap) is not needed again.
await stop();
const code = outputFiles.find((file) => file.path.endsWith('.mjs'));
const map = outputFiles.find((file) => file.path.endsWith('.map'));

// Named by content: instances started together from one checkout (or from different revisions
// sharing node_modules) never overwrite each other's bundle; an unchanged one is reused.
const name = `node-${createHash('sha256').update(code.contents).digest('hex').slice(0, 16)}.mjs`;
const bundle = join(dir, name);
if (!existsSync(bundle)) {
  mkdirSync(dir, { recursive: true });
  const write = (path, contents) => {
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, contents);
    renameSync(partial, path);
  };
  write(`${bundle}.map`, map.contents);
  write(bundle, code.text.replace(/\/\/# sourceMappingURL=node\.mjs\.map\s*$/, `//# sourceMappingURL=${name}.map\n`));
}
// Bundles of earlier versions: a running gateway has long loaded its own.
for (const file of readdirSync(dir)) {
  const path = join(dir, file);
  if (!file.startsWith(name) && Date.now() - statSync(path).mtimeMs > STALE_MS) unlinkSync(path);
}

process.setSourceMapsEnabled(true);
const { runNodeGateway } = await import(pathToFileURL(bundle).href);
try {
  await runNodeGateway();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
