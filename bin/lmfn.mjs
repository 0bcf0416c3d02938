#!/usr/bin/env node
// Entry point of the `lmfn` command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../train/cli.ts');
process.exitCode = await main(process.argv.slice(2));
