import { readFileSync } from 'node:fs';
import { BundleFileError, loadSignatureFile, type BundleSignature } from '@bundlegate/bundle';
import { configOrExit, createLogger, describeConfig, formatHostPort, installShutdown, type Logger } from '@bundlegate/service-kit';
import { GatewayBackend } from './backend-gateway';
import { InProcessBackend } from './backend-in-process';
import type { InferenceBackend } from './backend';
import { crossCheckConfig, MODEL_PROXY_CONFIG, type ModelProxyConfig } from './config';
import { createModelProxy } from './model-proxy';
import { selectBundle, TargetBundleError } from './target-bundle';

async function createBackend(config: ModelProxyConfig, signature: BundleSignature, logger: Logger): Promise<InferenceBackend> {
  if (config.backend === 'in-process') {
    return InProcessBackend.open({
      modelsDir: config.modelsDir as string,
      modelIds: signature.bundles.flatMap((b) => b.models.map((m) => m.id)),
      logger: logger.child({ module: 'runtime' }),
      pollIntervalMs: config.modelPollInterval,
      maxImagePixels: config.maxImagePixels,
    });
  }
  const tls = config.gatewayTls
    ? {
        ca: config.gatewayCa === undefined ? undefined : readFileSync(config.gatewayCa),
        cert: config.gatewayCert === undefined ? undefined : readFileSync(config.gatewayCert),
        key: config.gatewayKey === undefined ? undefined : readFileSync(config.gatewayKey),
        serverName: config.gatewayServerName,
      }
    : undefined;
  return new GatewayBackend({ target: formatHostPort(config.gateway), tls, maxMessageBytes: config.maxMessageBytes });
}

async function main(): Promise<void> {
  const config = configOrExit(MODEL_PROXY_CONFIG, {
    name: 'model-proxy',
    summary: 'The typed public API over a bundle: HTTP (default :8000) and gRPC (default :8005).',
    validate: crossCheckConfig,
  });
  const logger = createLogger({ service: 'model-proxy', level: config.logLevel, pretty: config.logPretty });
  logger.info({ config: describeConfig(config, MODEL_PROXY_CONFIG) }, 'starting');
  let signature: BundleSignature;
  try {
    signature = await loadSignatureFile(config.signature);
    if (config.targetBundle !== undefined) signature = selectBundle(signature, config.targetBundle);
  } catch (error) {
    if (!(error instanceof BundleFileError) && !(error instanceof TargetBundleError)) throw error;
    process.stderr.write(`model-proxy: ${error.message}\n`);
    process.exit(2);
  }
  const backend = await createBackend(config, signature, logger);
  const proxy = createModelProxy({
    signature,
    backend,
    logger,
    deadlineMs: config.deadline,
    maxBodyBytes: config.maxBodyBytes,
    maxMessageBytes: config.maxMessageBytes,
    maxImagePixels: config.maxImagePixels,
    readinessIntervalMs: config.readinessInterval,
  });
  installShutdown({
    logger,
    health: proxy.health,
    drainTimeoutMs: config.drainTimeout + 5_000,
    steps: [{ name: 'drain and close', run: () => proxy.close(config.drainTimeout) }],
  });
  await proxy.listen({ host: config.host, httpPort: config.httpPort, grpcPort: config.grpcPort });
}

main().catch((error: unknown) => {
  process.stderr.write(`model-proxy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
