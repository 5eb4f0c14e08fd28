import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeStackPorts } from './ports';
import { httpProbe } from './readiness';
import { runStack, type StackStep } from './stack';
import { Supervisor } from './supervisor';
import { GRACEFUL, httpService, nodeChild } from './testing/children';

function io(signal = new AbortController().signal) {
  const log: string[] = [];
  return { log, io: { log: (line: string) => void log.push(line), signal } };
}

const quiet = () => new Supervisor({ output: () => undefined, killAfterMs: 2000 });

describe('runStack', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bundlegate-stack-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('runs the job, then each service once the previous is ready; Ctrl-C stops all and exits 0', async () => {
    const ports = await freeStackPorts();
    const marker = join(dir, 'downloaded');
    const controller = new AbortController();
    const { log, io: stackIo } = io(controller.signal);
    const jobs: StackStep[] = [{ spec: nodeChild('download', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'models')`) }];
    const services: StackStep[] = [
      // the serving step reads what the job wrote: it only starts after the job exited 0
      {
        spec: nodeChild('serving', `require('node:fs').readFileSync(${JSON.stringify(marker)}); ${httpService(ports.servingRest, '/v2/models/m/ready', 300)}`),
        probes: [httpProbe(`http://127.0.0.1:${ports.servingRest}/v2/models/m/ready`)],
      },
      { spec: nodeChild('gateway', httpService(ports.gatewayRest, '/readyz', 0)), probes: [httpProbe(`http://127.0.0.1:${ports.gatewayRest}/readyz`)] },
    ];
    let readyAt = 0;
    const running = runStack(jobs, services, stackIo, {
      supervisor: quiet(),
      readyTimeoutMs: 10_000,
      readyIntervalMs: 25,
      onReady: () => {
        readyAt = Date.now();
        setTimeout(() => controller.abort(), 100);
      },
    });
    const result = await running;
    expect(await readFile(marker, 'utf8')).toBe('models');
    expect(readyAt).toBeGreaterThan(0);
    expect(result.outcome).toEqual({ kind: 'stopped' });
    expect(result.exitCode).toBe(0);
    expect(result.exits.map((e) => [e.name, e.code, e.requested])).toEqual([
      ['download', 0, false],
      ['serving', 0, true],
      ['gateway', 0, true],
    ]);
    expect(log).toEqual([
      'starting download',
      'download finished',
      'starting serving',
      'serving is ready',
      'starting gateway',
      'gateway is ready',
      'stopping',
      'stopped',
    ]);
  });

  it('stops everything when a running service dies, and reports its exit', async () => {
    const { log, io: stackIo } = io();
    const services: StackStep[] = [
      { spec: nodeChild('serving', GRACEFUL) },
      { spec: nodeChild('gateway', "setTimeout(() => { console.error('lost my upstream'); process.exit(7); }, 200)") },
    ];
    const result = await runStack([], services, stackIo, { supervisor: quiet(), readyTimeoutMs: 5000 });
    expect(result.outcome).toMatchObject({ kind: 'child-failed', exit: { name: 'gateway', code: 7 } });
    expect(result.exitCode).toBe(1);
    expect(log).toContain('gateway exited with code 7; stopping the others');
    expect(result.exits.find((e) => e.name === 'serving')).toMatchObject({ requested: true });
  });

  it('does not start services when the job fails', async () => {
    const { log, io: stackIo } = io();
    const result = await runStack([{ spec: nodeChild('download', "console.error('bucket not found'); process.exit(4)") }], [{ spec: nodeChild('serving', GRACEFUL) }], stackIo, {
      supervisor: quiet(),
      readyTimeoutMs: 5000,
    });
    expect(result.outcome).toMatchObject({ kind: 'child-failed', exit: { name: 'download', code: 4, tail: ['bucket not found'] } });
    expect(result.exits.map((e) => e.name)).toEqual(['download']);
    expect(log).not.toContain('starting serving');
  });

  it('gives up on a service that never becomes ready, at the deadline', async () => {
    const ports = await freeStackPorts();
    const { log, io: stackIo } = io();
    const started = Date.now();
    const result = await runStack(
      [],
      [{ spec: nodeChild('serving', httpService(ports.servingRest, '/ready', 60_000)), probes: [httpProbe(`http://127.0.0.1:${ports.servingRest}/ready`)] }],
      stackIo,
      { supervisor: quiet(), readyTimeoutMs: 2000, readyIntervalMs: 25 },
    );
    expect(result.outcome.kind).toBe('not-ready');
    expect(result.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    // what the probe last saw: 503 once the server listens (refused only on a machine too loaded to start it in 2 s)
    expect(log.find((l) => l.startsWith('serving not ready after 2 s'))).toMatch(new RegExp(`GET http://127.0.0.1:${ports.servingRest}/ready → (HTTP 503|connect ECONNREFUSED)`));
    expect(result.exits[0]).toMatchObject({ name: 'serving', requested: true });
  });

  it('stops waiting for readiness at once when the service dies meanwhile', async () => {
    const ports = await freeStackPorts();
    const { io: stackIo } = io();
    const started = Date.now();
    const result = await runStack(
      [],
      [{ spec: nodeChild('serving', "setTimeout(() => process.exit(9), 150)"), probes: [httpProbe(`http://127.0.0.1:${ports.servingRest}/ready`)] }],
      stackIo,
      { supervisor: quiet(), readyTimeoutMs: 30_000, readyIntervalMs: 25 },
    );
    expect(result.outcome).toMatchObject({ kind: 'child-failed', exit: { name: 'serving', code: 9 } });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops the job when Ctrl-C comes while it runs', async () => {
    const controller = new AbortController();
    const { io: stackIo } = io(controller.signal);
    setTimeout(() => controller.abort(), 200);
    const result = await runStack([{ spec: nodeChild('download', GRACEFUL) }], [{ spec: nodeChild('serving', GRACEFUL) }], stackIo, {
      supervisor: quiet(),
      readyTimeoutMs: 5000,
    });
    expect(result.outcome).toEqual({ kind: 'stopped' });
    expect(result.exits.map((e) => [e.name, e.requested])).toEqual([['download', true]]);
  });
});
