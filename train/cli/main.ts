// The `lmfn` command: subcommands for the LMFN model. Each lives in
// train/cli/commands/<name>.ts and exports { summary, help, run }.

import { EngineError } from '../../engine/node/index.ts';
import { CommandError, UsageError } from './args.ts';
import { ImageError } from '../image.ts';
import { DatasetError } from '../data/dataset.ts';
import { CheckpointError } from '../loop/checkpoint.ts';
import * as info from './commands/info.ts';
import * as init from './commands/init.ts';
import * as deblur from './commands/deblur.ts';
import * as grads from './commands/grads.ts';
import * as evaluate from './commands/eval.ts';
import * as train from './commands/train.ts';
import * as bench from './commands/bench.ts';

interface Command {
  summary: string;
  help: string;
  run(argv: string[]): Promise<void>;
}

const commands: Record<string, Command> = { info, init, deblur, grads, eval: evaluate, train, bench };

async function usage(): Promise<string> {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `usage: lmfn <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'lmfn <command> --help' for a command's options. ` +
    `WGRAD_ADAPTER picks the adapter: auto (default: a GPU if there is one, else the fastest CPU implementation), gpu, cpu, ` +
    `gl, vulkan, llvmpipe, lavapipe or swiftshader.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`lmfn: unknown command '${name}'\nRun 'lmfn --help' for the commands.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`lmfn ${e.message}\nRun 'lmfn ${name} --help' for its options.`);
      return 2;
    }
    // Our own errors carry a complete message; anything else is a bug worth its stack.
    if (e instanceof CommandError || e instanceof EngineError || e instanceof ImageError || e instanceof DatasetError || e instanceof CheckpointError || e instanceof RangeError || (e as NodeJS.ErrnoException).code) {
      console.error(`lmfn ${name}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
