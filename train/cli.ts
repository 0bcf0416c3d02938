// The `lmfn` command: subcommands for the LMFN model. Each lives in
// train/commands/<name>.ts and exports { summary, help, run }.

import { EngineError } from '../engine/errors.ts';
import { UsageError } from './args.ts';
import { ImageError } from './image.ts';
import { DatasetError } from './data/dataset.ts';

interface Command {
  summary: string;
  help: string;
  run(argv: string[]): Promise<void>;
}

const commands: Record<string, () => Promise<Command>> = {
  info: () => import('./commands/info.ts'),
  init: () => import('./commands/init.ts'),
  deblur: () => import('./commands/deblur.ts'),
  grads: () => import('./commands/grads.ts'),
  eval: () => import('./commands/eval.ts'),
  train: () => import('./commands/train.ts'),
};

async function usage(): Promise<string> {
  const lines = await Promise.all(Object.entries(commands).map(async ([name, load]) => `  ${name.padEnd(8)} ${(await load()).summary}`));
  return `usage: lmfn <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'lmfn <command> --help' for a command's options. ` +
    `WGRAD_ADAPTER=gpu|cpu forces the adapter (default: the GPU if there is one).`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`lmfn: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`lmfn ${e.message}\n\n${command.help}`);
      return 2;
    }
    // Our own errors carry a complete message; anything else is a bug worth its stack.
    if (e instanceof EngineError || e instanceof ImageError || e instanceof DatasetError || e instanceof RangeError || (e as NodeJS.ErrnoException).code) {
      console.error(`lmfn ${name}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
