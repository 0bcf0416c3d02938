// Crash-safe file writes: a checkpoint or image is either the old file or the
// complete new one, never half of either.

import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

/** Writes `chunks` to a temp file beside `path` (same filesystem), fsyncs it, renames it over `path`, fsyncs the directory. */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>): void {
  const dir = dirname(resolve(path));
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd = openSync(temp, 'wx');
  try {
    for (const bytes of chunks) {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(temp, path);
  } catch (e) {
    try {
      if (fd >= 0) closeSync(fd);
      unlinkSync(temp);
    } catch {
      // The original error is the one worth reporting.
    }
    throw e;
  }
  syncDirectory(dir);
}

/** Makes the rename itself durable; not every platform can fsync a directory, and that is fine. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // EISDIR/EPERM on Windows and some filesystems: the data file itself is already synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
