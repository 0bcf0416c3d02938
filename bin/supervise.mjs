// The parent half of the `lmfn` command. The work runs in a child process;
// this one only starts it and stands between it and the user, for three
// things a single process cannot do for itself:
// - Prompt interrupts. A GPU submit or a shader compile can hold the child's
//   event loop for minutes (llvmpipe compiles a pipeline at its first
//   dispatch), and a JavaScript signal handler waits for the loop. Here the
//   loop is always free: a signal is passed on at once, and a child that has
//   not finished GRACE_MS later is killed. Checkpoints are written atomically,
//   so what is on disk is the last one saved, whole.
// - Clean output. Dawn and the drivers write warnings to the process's stderr
//   from native code ("artificially reduced" limits, the Vulkan loader,
//   XDG_RUNTIME_DIR); the child's stderr passes through NOISE first.
// - The environment a driver needs before the process starts: the Vulkan
//   loader's library path, EGL's platform.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { constants, homedir } from 'node:os';
import { join } from 'node:path';

/** How long a child may take to save and exit after a signal before it is killed (the promise is 10 s). */
export const GRACE_MS = 7000;

/** Lines that native code writes and users should never see; blank lines right after them go too. */
export const NOISE = [
  /^Warning: /, // Dawn's own warnings, e.g. "maxDynamic…BuffersPerPipelineLayout artificially reduced"
  /^ - While /, // …and their context lines
  /^\s+at .*\.(cpp|cc|h|mm):\d+\)?\s*$/, // …and their C++ source locations
  /XDG_RUNTIME_DIR/,
  /^WARNING: lavapipe is not a conformant/,
  /^(libEGL|MESA-LOADER|EGL) (warning|error)/i,
  /^ERROR: \[Loader Message\]|^WARNING: \[Loader Message\]/,
];

/** Passes text through line by line, dropping NOISE; a partial line that cannot be noise (a progress bar's `\r` redraw) goes out at once. */
export class NoiseFilter {
  #pending = '';
  #midLine = false;
  #dropped = false;
  constructor(write) {
    this.write = write;
  }

  push(text) {
    let rest = this.#pending + text;
    this.#pending = '';
    let nl;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (this.#midLine) {
        this.write(line + '\n');
        this.#midLine = false;
      } else this.#line(line);
    }
    if (!rest) return;
    if (this.#midLine || !couldBeNoise(rest)) {
      this.write(rest);
      this.#midLine = true;
    } else this.#pending = rest;
  }

  end() {
    if (this.#pending) this.#line(this.#pending);
    this.#pending = '';
  }

  #line(line) {
    if (NOISE.some((re) => re.test(line)) || (this.#dropped && line.trim() === '')) {
      this.#dropped = true;
      return;
    }
    this.#dropped = false;
    this.write(line + '\n');
  }
}

/** A prefix that might still grow into a noise line. */
function couldBeNoise(partial) {
  return !partial.includes('\r') && /^(W|E|M|l|X|\s|-|$)/.test(partial);
}

function vulkanLoaderInstalled() {
  for (const dir of (process.env.LD_LIBRARY_PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'libvulkan.so.1'))) return true;
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      return execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('libvulkan.so.1');
    } catch {
      // next
    }
  }
  return false;
}

/** Loaders that come with other software: Debian's chromium ships the Khronos loader beside its SwiftShader driver. */
const BUNDLED_LOADERS = ['/usr/lib/chromium/libvulkan.so.1', '/usr/lib64/chromium/libvulkan.so.1'];

/**
 * A folder holding only a link to a bundled Vulkan loader, for LD_LIBRARY_PATH
 * (the loader must be found when the process starts). Only the loader: the
 * rest of Chromium's folder (its own libEGL) would shadow Mesa's and break GL.
 */
function bundledLoaderDir() {
  const loader = BUNDLED_LOADERS.find((f) => existsSync(f));
  if (!loader) return null;
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lmfn', 'vulkan-loader');
  const link = join(dir, 'libvulkan.so.1');
  try {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(link) || readlinkSync(link) !== loader) symlinkSync(loader, link);
    return dir;
  } catch {
    return existsSync(link) ? dir : null;
  }
}

/** The child's environment: EGL without a display server, and a Vulkan loader when the system has none of its own. */
export function childEnvironment(env = process.env) {
  const out = { ...env, LMFN_SUPERVISED: '1', EGL_PLATFORM: env.EGL_PLATFORM || 'surfaceless' };
  if (process.stderr.isTTY) out.LMFN_STDERR_TTY = '1';
  if (process.platform === 'linux' && !vulkanLoaderInstalled()) {
    const dir = bundledLoaderDir();
    if (dir) out.LD_LIBRARY_PATH = [dir, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  return out;
}

/** Runs `script args` as a supervised child; resolves with the exit code to use. */
export function supervise(script, args) {
  const posix = process.platform !== 'win32';
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
    env: childEnvironment(),
    // Its own process group: a terminal's Ctrl-C reaches only us, and we pass it on once.
    detached: posix,
  });
  const filter = new NoiseFilter((s) => process.stderr.write(s));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => filter.push(s));

  let received = null;
  let killer = null;
  const onSignal = (sig) => {
    received ??= sig;
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    killer ??= setTimeout(() => {
      process.stderr.write(`\nlmfn: still busy ${GRACE_MS / 1000} s after ${received} (inside a GPU submit or a shader compile); stopped it. Saved checkpoints are intact.\n`);
      child.kill('SIGKILL');
    }, GRACE_MS);
  };
  const signals = posix ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM'];
  for (const sig of signals) process.on(sig, onSignal);

  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      filter.end();
      if (killer) clearTimeout(killer);
      for (const sig of signals) process.off(sig, onSignal);
      if (code !== null) resolve(code);
      else resolve(128 + (constants.signals[received ?? signal] ?? 1));
    });
    child.on('error', (e) => {
      process.stderr.write(`lmfn: could not start: ${e.message}\n`);
      resolve(1);
    });
  });
}
