// safetensors files under Node: reading through a file descriptor (the header is checked
// before any tensor is read, so a wrong or hostile file fails without being loaded), and
// writing atomically: a temporary file in the target's directory is written, fsynced and
// renamed over the target, so a crash leaves either the old checkpoint or the new one,
// never half of one.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.ts';
import {
  SafetensorsError, readSafetensorsFrom, safetensorsChunks,
  type ReadOptions, type SafetensorsFile, type TensorsToWrite, type WriteOptions,
} from '../safetensors.ts';

/** Reads and validates a safetensors file; only F32 tensors are accepted. */
export function readSafetensors(path: string, options: ReadOptions = {}): SafetensorsFile {
  const fd = openSync(path, 'r');
  try {
    const readInto = (bytes: Uint8Array, position: number) => {
      let done = 0;
      while (done < bytes.length) {
        const n = readSync(fd, bytes, done, bytes.length - done, position + done);
        if (n === 0) throw new SafetensorsError(`${path}: file ended at byte ${position + done} while reading (it shrank while being read?)`);
        done += n;
      }
    };
    return readSafetensorsFrom({ size: fstatSync(fd).size, readInto }, { ...options, source: path });
  } finally {
    closeSync(fd);
  }
}

/** Writes a safetensors file atomically (temp file in the same directory, fsync, rename). */
export function writeSafetensors(path: string, tensors: TensorsToWrite, metadata?: Record<string, string>, options: WriteOptions = {}): void {
  // Everything that can be wrong with the input fails here, before any file is touched.
  writeFileAtomic(path, safetensorsChunks(tensors, metadata, options, path));
}
