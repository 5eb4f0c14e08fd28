import { createServer } from 'node:net';
import { busyPorts, DEFAULT_STACK_PORTS, freeStackPorts, portConflicts, portsFromBase } from './ports';

describe('stack ports', () => {
  it('defaults to the documented ports', () => {
    expect(DEFAULT_STACK_PORTS).toEqual({ proxyHttp: 8000, proxyGrpc: 8005, gatewayGrpc: 8080, gatewayRest: 8081, servingGrpc: 9000, servingRest: 8001 });
    expect(portConflicts(DEFAULT_STACK_PORTS)).toEqual([]);
  });

  it('lays out six consecutive ports from a base port', () => {
    expect(portsFromBase(18000)).toEqual({ proxyHttp: 18000, proxyGrpc: 18001, gatewayGrpc: 18002, gatewayRest: 18003, servingGrpc: 18004, servingRest: 18005 });
    expect(() => portsFromBase(65531)).toThrow(RangeError);
  });

  it('finds six different free ports', async () => {
    const ports = Object.values(await freeStackPorts());
    expect(new Set(ports).size).toBe(6);
    expect(ports.every((p) => p > 0 && p < 65536)).toBe(true);
  });

  it('names the ports something already listens on', async () => {
    const ports = await freeStackPorts();
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(ports.gatewayRest, '127.0.0.1', r));
    try {
      expect(await busyPorts(ports)).toEqual(['gatewayRest']);
    } finally {
      await new Promise((r) => holder.close(r));
    }
    expect(await busyPorts(ports)).toEqual([]);
  });

  it('reports two roles on one port', () => {
    expect(portConflicts({ ...DEFAULT_STACK_PORTS, servingRest: 8000 })).toEqual(['onnx-serving REST and model-proxy HTTP both use port 8000']);
  });
});
