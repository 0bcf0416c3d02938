#!/usr/bin/env node
// Entry point of the `lmfn` command. Run by a user, it supervises (supervise.mjs):
// the command itself runs in a child process, this same file with
// LMFN_SUPERVISED=1, which runs the TypeScript sources through tsx.
import { fileURLToPath } from 'node:url';

if (process.env.LMFN_SUPERVISED === '1') {
  // A child whose parent is gone would otherwise run on unwatched: treat it as SIGTERM (save, then exit).
  const orphaned = () => process.kill(process.pid, 'SIGTERM');
  process.on('disconnect', orphaned);
  process.channel?.unref();
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../train/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
  process.off('disconnect', orphaned);
  process.disconnect?.();
} else {
  const { supervise } = await import('./supervise.mjs');
  process.exitCode = await supervise(fileURLToPath(import.meta.url), process.argv.slice(2));
}
