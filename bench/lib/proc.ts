// Node-only benchmark helpers: child processes (each arm runs as its own process, as in
// production) and what the kernel says about them (/proc/PID/stat and /proc/PID/status).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of utime/stime in /proc/PID/stat. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields are counted after its closing ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM' | 'nonvoluntary_ctxt_switches'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

/**
 * How often the kernel has taken the process's main thread (its event loop) off a CPU while it
 * could still run, so far: /proc/PID/status counts per thread, and for the process it is the main one.
 */
export function preemptions(pid: number): number {
  return statusField(pid, 'nonvoluntary_ctxt_switches');
}

/** Resident set size now, in MB. */
export function rssMb(pid: number): number {
  return statusField(pid, 'VmRSS') / 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the largest sample in MB. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // The process exited; the caller notices.
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        peak = Math.max(peak, rssMb(pid));
      } catch {
        // as above
      }
      return peak;
    },
  };
}

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** What the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code once it is gone. */
  stop(graceMs?: number): Promise<number | null>;
}

const children = new Set<Child>();

/**
 * Starts `node <args>` in the project root and resolves once its output matches `ready`
 * (rejects if it exits first or `timeoutMs` passes; without `ready`, at once). The match is
 * returned for addresses.
 */
export function startNode(
  name: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; ready?: RegExp; timeoutMs?: number; cwd?: string },
): Promise<{ child: Child; match: RegExpExecArray | undefined }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let exited: number | null | undefined;
    const exit = new Promise<number | null>((done) =>
      proc.once('exit', (code, signal) => {
        exited = code ?? (signal ? 128 : null);
        done(exited);
      }),
    );
    const child: Child = {
      name,
      process: proc,
      pid: proc.pid!,
      output: () => output,
      async stop(graceMs = 15_000) {
        children.delete(child);
        if (exited !== undefined) return exited;
        proc.kill('SIGTERM');
        const force = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        const code = await exit;
        clearTimeout(force);
        return code;
      },
    };
    children.add(child);
    const timer = setTimeout(() => {
      void child.stop(1000);
      reject(new Error(`${name} did not start within ${options.timeoutMs ?? 60_000} ms:\n${output.slice(-2000)}`));
    }, options.timeoutMs ?? 60_000);
    let started = false;
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (output.length > 1_000_000) output = output.slice(-200_000);
      const match = options.ready?.exec(output);
      if (match && !started) {
        started = true;
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    if (!options.ready) {
      started = true;
      clearTimeout(timer);
      resolve({ child, match: undefined });
    }
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exit.then((code) => {
      children.delete(child);
      if (!started) {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code} during start-up:\n${output.slice(-2000)}`));
      }
    });
  });
}

/** Stops every child still running (on exit, failure or Ctrl-C): only the processes started here. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(5000)));
}

/** Throws when a child died during a measurement, with the end of its output. */
export function assertAlive(...list: Array<Child | undefined>): void {
  for (const child of list) {
    if (child && child.process.exitCode !== null) {
      throw new Error(`${child.name} (pid ${child.pid}) exited during the run:\n${child.output().slice(-2000)}`);
    }
  }
}

/**
 * One busy loop per core under SCHED_IDLE, so the cores never halt while they run: a task of any
 * other policy takes the core from them at once. On a VM an idle core halts, and waking it (and
 * warming its caches) costs every process hop of a request; the busy variant of a probe shows what
 * the arms cost with that left out. Resolves once every loop has its policy.
 */
export async function keepCoresBusy(cores: number): Promise<{ stop(): Promise<void> }> {
  const spinners: Child[] = [];
  const stop = async (): Promise<void> => void (await Promise.all(spinners.map((spinner) => spinner.stop(1000))));
  try {
    for (let i = 0; i < cores; i++) {
      const { child } = await startNode(`busy-core-${i}`, ['-e', 'for (;;);'], {});
      spinners.push(child);
      execFileSync('chrt', ['--idle', '--pid', '0', String(child.pid)]);
    }
  } catch (error) {
    await stop();
    throw new Error(`could not keep the cores busy (chrt from util-linux runs the loops under SCHED_IDLE): ${String(error)}`);
  }
  return { stop };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
