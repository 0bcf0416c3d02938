// Flag parsing for the lmfn subcommands: `--name value`, `--name=value` and
// boolean `--flag`. Unknown flags and missing values are usage errors, shown
// with the subcommand's help instead of a stack trace.

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command failed for a reason its message fully explains (exit status 1, no stack trace). */
export class CommandError extends Error {
  override name = 'CommandError';
}

export interface FlagSpec {
  /** 'string' | 'number' | 'boolean' */
  type: 'string' | 'number' | 'boolean';
  help: string;
  required?: boolean;
  default?: string | number | boolean;
}

export type Flags<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K]['type'] extends 'number' ? number : S[K]['type'] extends 'boolean' ? boolean : string;
};

export function parseFlags<S extends Record<string, FlagSpec>>(command: string, spec: S, argv: string[]): Flags<S> {
  const out: Record<string, string | number | boolean> = {};
  for (const [name, s] of Object.entries(spec)) if (s.default !== undefined) out[name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`${command}: unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) throw new UsageError(`${command}: unknown flag --${name}`);
    if (s.type === 'boolean') {
      out[name] = eq < 0 ? true : !['false', '0', 'no'].includes(arg.slice(eq + 1));
      continue;
    }
    const raw = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new UsageError(`${command}: --${name} needs a value`);
    if (s.type === 'number') {
      const v = Number(raw);
      if (!Number.isFinite(v)) throw new UsageError(`${command}: --${name} must be a number, got '${raw}'`);
      out[name] = v;
    } else out[name] = raw;
  }
  for (const [name, s] of Object.entries(spec)) {
    if (s.required && out[name] === undefined) throw new UsageError(`${command}: --${name} is required`);
  }
  return out as Flags<S>;
}

export function helpText(usage: string, description: string, spec: Record<string, FlagSpec>): string {
  const rows = Object.entries(spec).map(([name, s]) => {
    const flag = `--${name}${s.type === 'boolean' ? '' : ` ${s.type === 'number' ? 'N' : 'VALUE'}`}`;
    const extra = s.required ? ' (required)' : s.default !== undefined && s.default !== false ? ` (default ${s.default})` : '';
    return `  ${flag.padEnd(22)} ${s.help}${extra}`;
  });
  return `usage: ${usage}\n\n${description}\n\noptions:\n${rows.join('\n')}\n  ${'--help'.padEnd(22)} show this help`;
}
