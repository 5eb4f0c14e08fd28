import { ConfigError, loadConfig } from '@bundlegate/service-kit';
import { gatewayConfigSpec, toGatewayConfig, validateFlags } from './config';

const load = (argv: string[], env: Record<string, string> = {}) => loadConfig(gatewayConfigSpec, { argv, env, validate: validateFlags });

test('flags and GATEWAY_* variables make the config', () => {
  const config = toGatewayConfig(
    load(['--route', 'm1=127.0.0.1:9000,127.0.0.1:9001', '--route=m2=h:1', '--rest_port', '9081'], {
      GATEWAY_GRPC_PORT: '9080',
      GATEWAY_LB_POLICY: 'least_request',
      GATEWAY_MAX_MESSAGE_SIZE: '100MiB',
      GATEWAY_STREAMS_PER_CONNECTION: '2',
    }),
  );
  expect(config.port).toBe(9080);
  expect(config.restPort).toBe(9081);
  expect(config.source).toEqual({ kind: 'flags', routes: ['m1=127.0.0.1:9000,127.0.0.1:9001', 'm2=h:1'], restRoutes: [] });
  expect(config.clusterDefaults.lbPolicy).toBe('least_request');
  expect(config.clusterDefaults.maxMessageSize).toBe(100 * 1024 * 1024);
  expect(config.pool.streamsPerConnection).toBe(2);
  expect(config.listener.tls).toBeUndefined();
});

test('every problem is reported at once', () => {
  let err: unknown;
  try {
    load(['--port', '70000', '--route', 'm1=nohost', '--lb_policy', 'random', '--tls_cert', __filename]);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const messages = (err as ConfigError).problems.map((p) => `${p.flag ?? ''} ${p.message}`);
  expect(messages).toHaveLength(3);
  expect(messages[0]).toContain('--route');
  expect(messages.join('\n')).toContain('--port');
  expect(messages.join('\n')).toContain('--lb_policy');
});

test('cross-field rules: one route source, TLS pairs', () => {
  let err: unknown;
  try {
    load(['--tls_cert', __filename]);
  } catch (e) {
    err = e;
  }
  expect((err as ConfigError).problems.map((p) => p.message)).toEqual([
    'give exactly one of --routes FILE, --bundle FILE or --route ID=HOST:PORT (GATEWAY_ROUTES / GATEWAY_BUNDLE / GATEWAY_ROUTE)',
    '--tls_cert and --tls_key go together',
  ]);
});

test('read arenas: 256 KiB by default, 0 for node’s own reads, anything between 0 and 64 KiB refused', () => {
  const base = ['--route', 'm1=127.0.0.1:9000'];
  const dflt = toGatewayConfig(load(base));
  expect(dflt.pool.readArena).toBe(256 * 1024);
  expect(dflt.listener.readArena).toBe(256 * 1024);
  expect(toGatewayConfig(load([...base, '--read_arena', '0'])).listener.readArena).toBe(0);
  expect(toGatewayConfig(load(base, { GATEWAY_READ_ARENA: '1MiB' })).pool.readArena).toBe(1024 * 1024);
  let err: unknown;
  try {
    load([...base, '--read_arena', '32KiB']);
  } catch (e) {
    err = e;
  }
  expect((err as ConfigError).problems.map((p) => p.message)).toEqual(['--read_arena must be 0 or at least 65536 bytes (64KiB), got 32768']);
});
