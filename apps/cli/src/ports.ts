import { createServer, type Server } from 'node:net';

// Ports of the local stack: the documented defaults, a block from a base port, or free ones.

/** Every port `bundlegate up` listens on. */
export interface StackPorts {
  readonly proxyHttp: number;
  readonly proxyGrpc: number;
  readonly gatewayGrpc: number;
  readonly gatewayRest: number;
  readonly servingGrpc: number;
  readonly servingRest: number;
}

/** DESIGN.md "Ports and names": model-proxy 8000/8005, gateway 8080/8081, onnx-serving 9000/8001. */
export const DEFAULT_STACK_PORTS: StackPorts = {
  proxyHttp: 8000,
  proxyGrpc: 8005,
  gatewayGrpc: 8080,
  gatewayRest: 8081,
  servingGrpc: 9000,
  servingRest: 8001,
};

export const STACK_PORT_NAMES: Readonly<Record<keyof StackPorts, string>> = {
  proxyHttp: 'model-proxy HTTP',
  proxyGrpc: 'model-proxy gRPC',
  gatewayGrpc: 'gateway gRPC',
  gatewayRest: 'gateway REST',
  servingGrpc: 'onnx-serving gRPC',
  servingRest: 'onnx-serving REST',
};

const PORT_KEYS = Object.keys(DEFAULT_STACK_PORTS) as (keyof StackPorts)[];

/** Six consecutive ports from `base`, in the order of StackPorts. */
export function portsFromBase(base: number): StackPorts {
  if (!Number.isInteger(base) || base < 1 || base + PORT_KEYS.length - 1 > 65535) {
    throw new RangeError(`base port must leave room for ${PORT_KEYS.length} ports below 65536, got ${base}`);
  }
  return Object.fromEntries(PORT_KEYS.map((key, i) => [key, base + i])) as unknown as StackPorts;
}

function listen(server: Server, port: number, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Ports the OS hands out as free right now, one per StackPorts entry, all different. */
export async function freeStackPorts(host = '127.0.0.1'): Promise<StackPorts> {
  // hold every socket open until all are bound, so the OS cannot hand out one port twice
  const servers = PORT_KEYS.map(() => createServer());
  try {
    const ports = await Promise.all(servers.map((s) => listen(s, 0, host)));
    return Object.fromEntries(PORT_KEYS.map((key, i) => [key, ports[i]])) as unknown as StackPorts;
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** The ports of `ports` that something already listens on (checked on every interface, as the services bind). */
export async function busyPorts(ports: StackPorts): Promise<(keyof StackPorts)[]> {
  const busy: (keyof StackPorts)[] = [];
  for (const key of PORT_KEYS) {
    const server = createServer();
    try {
      await listen(server, ports[key]);
      await close(server);
    } catch {
      busy.push(key);
    }
  }
  return busy;
}

/** Problems with a port set: duplicates. */
export function portConflicts(ports: StackPorts): string[] {
  const seen = new Map<number, keyof StackPorts>();
  const problems: string[] = [];
  for (const key of PORT_KEYS) {
    const first = seen.get(ports[key]);
    if (first !== undefined) problems.push(`${STACK_PORT_NAMES[key]} and ${STACK_PORT_NAMES[first]} both use port ${ports[key]}`);
    else seen.set(ports[key], key);
  }
  return problems;
}
