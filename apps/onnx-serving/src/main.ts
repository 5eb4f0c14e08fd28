import { ServingConfigError } from '@bundlegate/model-runtime';
import { configOrExit, createLogger, describeConfig, installShutdown } from '@bundlegate/service-kit';
import { configSpec, logLevelOf, resolveServing, SERVICE, validateConfig } from './config';
import { startOnnxServing } from './server';

async function main(): Promise<void> {
  const config = configOrExit(configSpec, {
    name: SERVICE,
    summary: 'OVMS-compatible model server on ONNX Runtime: KServe v2 and TF Serving over gRPC and REST.',
    envFiles: ['.env'],
    validate: validateConfig,
  });
  const logger = createLogger({ service: SERVICE, level: logLevelOf(config), pretty: config.logPretty });
  logger.info({ config: describeConfig(config, configSpec) }, 'starting');
  let options;
  try {
    options = await resolveServing(config);
  } catch (err) {
    if (!(err instanceof ServingConfigError)) throw err;
    process.stderr.write(`${SERVICE}: ${err.message}\n`);
    process.exit(2);
  }
  const server = await startOnnxServing(options, { logger });
  installShutdown({
    logger,
    health: server.health,
    drainTimeoutMs: config.drainTimeout + 5_000,
    steps: [{ name: 'drain requests and unload models', run: () => server.close(config.drainTimeout) }],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`onnx-serving: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
