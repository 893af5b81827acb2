#!/usr/bin/env node
// Bundles src/entry/node.ts and what it imports with esbuild (packages in node_modules stay
// external) into node_modules/.cache/sluice/ and prints the bundle's path. bin/serve.mjs runs it
// as a child process at every start (a fraction of a second), so esbuild and its output never
// enter the gateway's own heap.
//
// No source map: the bundle is readable, one `// src/<file>.ts` banner above each module, so a
// stack trace's bundle line leads to the source. Node holds a linked map's 0.8 MB of mappings from
// start-up and, at the first stack trace it formats, decodes them into about 150,000 arrays that
// stay for the life of the process: about 17 MB of a gateway that idles at about 95 MB.
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
  logLevel: 'warning',
});
// The service (a child process) would otherwise keep this process alive.
await stop();
// V8 keeps a module's source in the heap for the module's life, one byte per character if it is
// all ASCII and two otherwise. esbuild escapes strings, templates and regular expressions; what it
// leaves unescaped is in the comments it keeps, so escaping every non-ASCII character changes no
// value and halves the 1.3 MB the bundle's source costs.
const text = outputFiles[0].text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

// Named by content: instances started together from one checkout (or from different revisions
// sharing node_modules) never overwrite each other's bundle; an unchanged one is reused.
const name = `node-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.mjs`;
const bundle = join(dir, name);
if (!existsSync(bundle)) {
  mkdirSync(dir, { recursive: true });
  // Written aside and renamed: a gateway starting beside this one never imports half a bundle.
  const partial = `${bundle}.${process.pid}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, bundle);
}
// Bundles of earlier versions: a running gateway has long loaded its own.
for (const file of readdirSync(dir)) {
  const path = join(dir, file);
  if (!file.startsWith(name) && Date.now() - statSync(path).mtimeMs > STALE_MS) unlinkSync(path);
}

process.stdout.write(`${bundle}\n`);
