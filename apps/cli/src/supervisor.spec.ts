import { describeExit, Supervisor } from './supervisor';
import { GRACEFUL, nodeChild, STUBBORN } from './testing/children';

function recorder() {
  const lines: string[] = [];
  return { lines, output: (name: string, line: string) => void lines.push(`${name}: ${line}`) };
}

async function waitForLine(lines: string[], line: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.includes(line)) {
    if (Date.now() > deadline) throw new Error(`no line ${JSON.stringify(line)} in ${JSON.stringify(lines)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Supervisor', () => {
  it('relays each output line under the child name, stdout and stderr alike', async () => {
    const rec = recorder();
    const supervisor = new Supervisor({ output: rec.output });
    const child = supervisor.start(nodeChild('talker', "console.log('one'); console.error('two'); console.log('three')", { job: true }));
    const exit = await child.exited;
    expect(exit).toMatchObject({ name: 'talker', code: 0, signal: null, requested: false });
    expect(rec.lines).toEqual(expect.arrayContaining(['talker: one', 'talker: two', 'talker: three']));
    expect(exit.tail).toHaveLength(3);
  });

  it('reports the first child that exits on its own, with its exit code', async () => {
    const rec = recorder();
    const supervisor = new Supervisor({ output: rec.output });
    supervisor.start(nodeChild('steady', GRACEFUL));
    supervisor.start(nodeChild('crasher', "console.error('boom'); process.exit(3)"));
    const exit = await supervisor.firstUnexpectedExit;
    // stop it only once its SIGTERM handler is in place, whatever the machine's load
    await waitForLine(rec.lines, 'steady: started');
    expect(exit).toMatchObject({ name: 'crasher', code: 3, requested: false });
    expect(exit.tail).toEqual(['boom']);
    expect(describeExit(exit)).toBe('crasher exited with code 3');
    const exits = await supervisor.stopAll();
    expect(exits.map((e) => [e.name, e.code, e.requested])).toEqual([
      ['steady', 0, true],
      ['crasher', 3, false],
    ]);
  });

  it('does not count a job that finished with 0 as a failure', async () => {
    const supervisor = new Supervisor({ output: () => undefined });
    const job = supervisor.start(nodeChild('job', 'process.exit(0)', { job: true }));
    await job.exited;
    const failed = await Promise.race([supervisor.firstUnexpectedExit.then(() => 'failed'), new Promise((r) => setTimeout(() => r('quiet'), 200))]);
    expect(failed).toBe('quiet');
    await supervisor.stopAll();
  });

  it('counts a job that exits non-zero as a failure', async () => {
    const supervisor = new Supervisor({ output: () => undefined });
    supervisor.start(nodeChild('job', 'process.exit(4)', { job: true }));
    await expect(supervisor.firstUnexpectedExit).resolves.toMatchObject({ name: 'job', code: 4 });
  });

  it('stops children in reverse start order, each once it is gone', async () => {
    const rec = recorder();
    const supervisor = new Supervisor({ output: rec.output });
    for (const name of ['first', 'second', 'third']) supervisor.start(nodeChild(name, GRACEFUL));
    for (const name of ['first', 'second', 'third']) await waitForLine(rec.lines, `${name}: started`);
    const exits = await supervisor.stopAll();
    expect(rec.lines.filter((l) => l.endsWith(': bye'))).toEqual(['third: bye', 'second: bye', 'first: bye']);
    expect(exits.every((e) => e.requested && e.code === 0)).toBe(true);
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async () => {
    const rec = recorder();
    const supervisor = new Supervisor({ output: rec.output, killAfterMs: 300 });
    const child = supervisor.start(nodeChild('stubborn', STUBBORN));
    await waitForLine(rec.lines, 'stubborn: started');
    const started = Date.now();
    const exit = await child.stop();
    expect(exit).toMatchObject({ signal: 'SIGKILL', requested: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(rec.lines).toContain('stubborn: ignoring SIGTERM');
    expect(describeExit(exit)).toBe('stubborn was ended by SIGKILL');
  });

  it('uses the stop hook instead of a signal when the child has one', async () => {
    const rec = recorder();
    const supervisor = new Supervisor({ output: rec.output, killAfterMs: 5000 });
    // stands in for `docker stop`: any way of asking other than SIGTERM
    const child = supervisor.start(
      nodeChild("hooked", "process.on('SIGUSR2', () => { console.log('asked nicely'); process.exit(0); }); console.log('started'); setInterval(() => {}, 1000);", {
        stop: (c) => void c.process.kill('SIGUSR2'),
      }),
    );
    await waitForLine(rec.lines, 'hooked: started');
    const exit = await child.stop();
    expect(exit).toMatchObject({ code: 0, requested: true });
    expect(rec.lines).toContain('hooked: asked nicely');
  });

  it('reports a program that cannot be started', async () => {
    const supervisor = new Supervisor({ output: () => undefined });
    supervisor.start({ name: 'ghost', command: '/nonexistent/bundlegate-test-binary', args: [] });
    const exit = await supervisor.firstUnexpectedExit;
    expect(exit.spawnError?.message).toMatch(/ENOENT/);
    expect(describeExit(exit)).toMatch(/^ghost could not start: .*ENOENT/);
  });

  it('refuses to start children once stopping began', async () => {
    const supervisor = new Supervisor({ output: () => undefined });
    await supervisor.stopAll();
    expect(() => supervisor.start(nodeChild('late', GRACEFUL))).toThrow('cannot start late: the stack is stopping');
  });
});
