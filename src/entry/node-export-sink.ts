// Node-only: the monthly export's files, written to a folder (SLUICE_EXPORT_DIR).
import { mkdir, open, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ExportSink } from '../reports/monthly-export';

/** Writes each file next to its final name and renames it into place, so a reader never sees half a file. */
export function folderExportSink(dir: string): ExportSink {
  return {
    async write(name, chunks) {
      const folder = resolve(dir);
      await mkdir(folder, { recursive: true });
      const path = join(folder, name);
      const partial = `${path}.partial`;
      const file = await open(partial, 'w');
      try {
        for (const chunk of chunks) await file.write(chunk);
      } finally {
        await file.close();
      }
      await rename(partial, path);
      return path;
    },
  };
}
