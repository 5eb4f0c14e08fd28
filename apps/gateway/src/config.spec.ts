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
