import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

// Runs a stack of child processes: starts them in order, relays their output line by line,
// notices the first one that dies on its own, and stops the rest in reverse order.

export interface ChildSpec {
  /** Short name for output prefixes and reports: `gateway`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** Full environment of the child (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * How to ask the child to stop (default: SIGTERM to it). A `docker run` child is stopped with
   * `docker stop`, because signalling the CLI process alone can leave the container running.
   */
  readonly stop?: (child: SupervisedChild) => Promise<void> | void;
  /** A job expected to finish (model-download): exit 0 is not a failure. */
  readonly job?: boolean;
}

export interface ChildExit {
  readonly name: string;
  /** Exit code, or null when a signal ended it (or it never started). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the supervisor asked it to stop. */
  readonly requested: boolean;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  readonly spawnError?: Error;
  /** Its last output lines, for the report when it died. */
  readonly tail: readonly string[];
}

export type OutputStream = 'stdout' | 'stderr';

export interface SupervisorOptions {
  /** Receives every line a child prints (default: written to this process's stdout / stderr, prefixed). */
  readonly output?: (name: string, line: string, stream: OutputStream) => void;
  /** After asking a child to stop, SIGKILL it when it is still running this much later (default 10 s). */
  readonly killAfterMs?: number;
  /** Output lines kept per child for reports (default 20). */
  readonly tailLines?: number;
}

/** "gateway exited with code 3", "onnx-serving was killed by SIGKILL", "model-download could not start: …". */
export function describeExit(exit: ChildExit): string {
  if (exit.spawnError !== undefined) return `${exit.name} could not start: ${exit.spawnError.message}`;
  if (exit.signal !== null) return `${exit.name} was ended by ${exit.signal}`;
  return `${exit.name} exited with code ${String(exit.code)}`;
}

export class SupervisedChild {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves once the process is gone (it never rejects). */
  readonly exited: Promise<ChildExit>;
  private stopRequested = false;
  private exitInfo: ChildExit | undefined;
  private readonly lines: string[] = [];

  constructor(
    readonly spec: ChildSpec,
    private readonly options: Required<SupervisorOptions>,
  ) {
    this.name = spec.name;
    this.process = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group: Ctrl-C on the terminal reaches only the supervisor, which stops the
      // children itself, in order, once each
      detached: true,
    });
    const readers = (['stdout', 'stderr'] as const).map((stream) => this.relay(stream));
    this.exited = new Promise<ChildExit>((resolve) => {
      let spawnError: Error | undefined;
      this.process.once('error', (error) => {
        spawnError = error;
        // a process that failed to spawn emits 'error' and never 'close'
        if (this.process.pid === undefined) finish(null, null);
      });
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exitInfo !== undefined) return;
        this.exitInfo = {
          name: this.name,
          code,
          signal,
          requested: this.stopRequested,
          ...(spawnError === undefined ? {} : { spawnError }),
          tail: [...this.lines],
        };
        resolve(this.exitInfo);
      };
      // 'close' comes after the output streams ended, so the tail is complete
      this.process.once('close', (code, signal) => void Promise.all(readers).then(() => finish(code, signal)));
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** The last lines it printed. */
  tail(): readonly string[] {
    return [...this.lines];
  }

  /** Ask it to stop, escalate to SIGKILL after the grace period; resolves when it is gone. */
  async stop(): Promise<ChildExit> {
    if (this.exitInfo !== undefined) return this.exitInfo;
    if (!this.stopRequested) {
      this.stopRequested = true;
      const timer = setTimeout(() => this.process.kill('SIGKILL'), this.options.killAfterMs);
      void this.exited.then(() => clearTimeout(timer));
      try {
        if (this.spec.stop) await this.spec.stop(this);
        else this.process.kill('SIGTERM');
      } catch {
        // the stop hook failed (e.g. `docker stop` errored): fall back to a signal
        this.process.kill('SIGTERM');
      }
    }
    return this.exited;
  }

  private relay(stream: OutputStream): Promise<void> {
    const source = this.process[stream];
    if (source === null) return Promise.resolve();
    const rl = createInterface({ input: source, crlfDelay: Infinity });
    rl.on('line', (line) => {
      this.lines.push(line);
      if (this.lines.length > this.options.tailLines) this.lines.shift();
      this.options.output(this.name, line, stream);
    });
    return new Promise((resolve) => rl.once('close', resolve));
  }
}

function defaultOutput(name: string, line: string, stream: OutputStream): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[${name}] ${line}\n`);
}

export class Supervisor {
  private readonly options: Required<SupervisorOptions>;
  private readonly children: SupervisedChild[] = [];
  private unexpectedExit: ((exit: ChildExit) => void) | undefined;
  private stoppingAll = false;
  /** Resolves with the first child that exits without being asked to (never rejects). */
  readonly firstUnexpectedExit: Promise<ChildExit>;

  constructor(options: SupervisorOptions = {}) {
    this.options = {
      output: options.output ?? defaultOutput,
      killAfterMs: options.killAfterMs ?? 10_000,
      tailLines: options.tailLines ?? 20,
    };
    this.firstUnexpectedExit = new Promise((resolve) => {
      this.unexpectedExit = resolve;
    });
  }

  /** Children in start order. */
  get started(): readonly SupervisedChild[] {
    return this.children;
  }

  start(spec: ChildSpec): SupervisedChild {
    if (this.stoppingAll) throw new Error(`cannot start ${spec.name}: the stack is stopping`);
    const child = new SupervisedChild(spec, this.options);
    if (this.children.length === 0) process.once('exit', this.killLeftovers);
    this.children.push(child);
    void child.exited.then((exit) => {
      const finishedJob = spec.job === true && exit.code === 0;
      if (!exit.requested && !finishedJob) this.unexpectedExit?.(exit);
    });
    return child;
  }

  /** Stop every running child, the last started first; resolves with every child's exit in start order. */
  async stopAll(): Promise<ChildExit[]> {
    this.stoppingAll = true;
    for (const child of [...this.children].reverse()) {
      if (child.running) await child.stop();
    }
    const exits = await Promise.all(this.children.map((c) => c.exited));
    process.off('exit', this.killLeftovers);
    return exits;
  }

  /** Children are in their own process groups, so nothing else ends them if this process dies first. */
  private readonly killLeftovers = (): void => {
    for (const child of this.children) if (child.running) child.process.kill('SIGKILL');
  };
}
