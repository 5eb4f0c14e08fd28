import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bashHttpCheck, nodeHttpCheck, servingResourceVar } from './containers';

// The health checks compose and Kubernetes run inside containers, run here for real against a server.

function run(argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const [program, ...args] = argv as [string, ...string[]];
    execFile(program === 'node' ? process.execPath : program, args, { timeout: 10_000 }, (error) => resolve(error === null ? 0 : typeof error.code === 'number' ? error.code : 1));
  });
}

describe('container health checks', () => {
  let server: Server;
  let port: number;
  let closedPort: number;
  beforeAll(async () => {
    const answers: Record<string, [number, string]> = {
      '/v2/models/m/ready': [200, ''],
      '/v1/models/loading': [200, '{"model_version_status":[{"state":"LOADING"}]}'],
      '/v1/models/ok': [200, '{"model_version_status":[{"state":"AVAILABLE"}]}'],
    };
    server = createServer((req, res) => {
      const [status, body] = answers[req.url ?? ''] ?? [503, ''];
      res.writeHead(status).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const other = createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    closedPort = (other.address() as AddressInfo).port;
    await new Promise((r) => other.close(r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('node check: exit 0 on 200, non-zero on 503 or nothing listening', async () => {
    expect(await run(nodeHttpCheck(port, '/v2/models/m/ready'))).toBe(0);
    expect(await run(nodeHttpCheck(port, '/v2/models/other/ready'))).not.toBe(0);
    expect(await run(nodeHttpCheck(closedPort, '/v2/models/m/ready'))).not.toBe(0);
  });

  it('bash check (no curl in OVMS/Triton images): exit 0 on 200, non-zero on 503 or nothing listening', async () => {
    expect(await run(bashHttpCheck(port, '/v2/models/m/ready'))).toBe(0);
    expect(await run(bashHttpCheck(port, '/v2/models/other/ready'))).not.toBe(0);
    expect(await run(bashHttpCheck(closedPort, '/v2/models/m/ready'))).not.toBe(0);
  });

  it('bash check with a body match: TF Serving is ready only once the model is AVAILABLE', async () => {
    expect(await run(bashHttpCheck(port, '/v1/models/ok', '"AVAILABLE"'))).toBe(0);
    expect(await run(bashHttpCheck(port, '/v1/models/loading', '"AVAILABLE"'))).not.toBe(0);
  });

  it('leaves nothing for compose to interpolate', () => {
    for (const argv of [nodeHttpCheck(8001, '/v2/models/m/ready'), bashHttpCheck(8001, '/v1/models/m', '"AVAILABLE"')]) expect(argv.join(' ')).not.toContain('$');
  });
});

describe('servingResourceVar', () => {
  it('names the variables as existing deployments do', () => {
    expect(servingResourceVar('6687ad3b04248f708c1e0c95', 'CPU_LIMIT')).toBe('SERVING_6687ad3b04248f708c1e0c95_CPU_LIMIT');
    expect(servingResourceVar('my-model', 'MEM_RESERVATION')).toBe('SERVING_my_model_MEM_RESERVATION');
  });
});
