import { configOrExit, createLogger, createMetrics, HealthState, installShutdown } from '@bundlegate/service-kit';
import { gatewayConfigSpec, toGatewayConfig, validateFlags } from './config';
import { createGateway } from './gateway';

async function main(): Promise<void> {
  const flags = configOrExit(gatewayConfigSpec, {
    name: 'gateway',
    summary: 'Routes gRPC calls by their model-id metadata (and REST calls by header or path) to each model\'s serving cluster.',
    validate: validateFlags,
  });
  const logger = createLogger({ service: 'gateway', level: flags.logLevel, pretty: flags.logPretty });
  const config = toGatewayConfig(flags);
  const metrics = createMetrics({ service: 'gateway' });
  const health = new HealthState({ checks: ['routes'] });
  let gateway;
  try {
    gateway = createGateway(config, { logger, metrics, health });
  } catch (err) {
    logger.fatal({ err }, 'cannot load routes');
    logger.flush();
    process.exit(2);
  }
  await gateway.listen();
  installShutdown({ logger, health, drainTimeoutMs: config.drainTimeoutMs + 5000, steps: [{ name: 'drain calls and close', run: () => gateway.close() }] });
  process.on('SIGHUP', () => void gateway.reload());
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
