import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseBundle, routeTable, SERVING_ENGINE_DEFAULTS } from '@bundlegate/bundle';
import { bgError, parseByteSize, parseDuration, parseHostPort, type BgError } from '@bundlegate/service-kit';

// Route definitions as data: what routes.yaml, `--route` flags and bundle.yaml all turn into before
// the route table compiles them (route-table.ts). Documented in apps/gateway/README.md.

export const LB_POLICIES = ['round_robin', 'least_request'] as const;
export type LbPolicy = (typeof LB_POLICIES)[number];

export const HEALTH_CHECK_KINDS = ['grpc', 'kserve', 'none'] as const;
export type HealthCheckKind = (typeof HEALTH_CHECK_KINDS)[number];

export interface EndpointSpec {
  readonly host: string;
  readonly port: number;
}

export interface HealthCheckSpec {
  readonly kind: HealthCheckKind;
  /** grpc.health.v1 service name ("" = the whole server). */
  readonly service: string;
  /** KServe ModelReady model name (default: the route's model id). */
  readonly model: string | undefined;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive failures that mark an endpoint unhealthy. */
  readonly unhealthyThreshold: number;
  /** Consecutive successes that mark it healthy again. */
  readonly healthyThreshold: number;
}

export interface OutlierSpec {
  /** Consecutive failed calls (connect errors, resets, UNAVAILABLE) that eject an endpoint; 0 disables. */
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
}

/** File paths (PEM) and names for TLS to upstreams. */
export interface UpstreamTlsSpec {
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly serverName: string | undefined;
  readonly insecureSkipVerify: boolean;
}

/** Everything about a route except where it points: `defaults:` in routes.yaml, and the flags' values. */
export interface ClusterOptions {
  readonly lbPolicy: LbPolicy;
  readonly healthCheck: HealthCheckSpec;
  readonly outlier: OutlierSpec;
  /** Largest gRPC message in either direction, bytes; 0 = unlimited (as nginx's client_max_body_size 0). */
  readonly maxMessageSize: number;
  /** Upper bound on a call's deadline, ms; 0 = only the client's grpc-timeout. */
  readonly timeoutMs: number;
  /** Attempts per call, the first included (retries go to another endpoint when one is available). */
  readonly maxAttempts: number;
  readonly tls: UpstreamTlsSpec | undefined;
}

export interface RouteSpec extends ClusterOptions {
  readonly modelId: string;
  readonly cluster: string;
  readonly endpoints: readonly EndpointSpec[];
  /** REST (HTTP/1.1) ports of the same servers; empty = REST calls for this model get 404. */
  readonly restEndpoints: readonly EndpointSpec[];
}

export const DEFAULT_CLUSTER_OPTIONS: ClusterOptions = {
  lbPolicy: 'round_robin',
  healthCheck: {
    kind: 'grpc',
    service: '',
    model: undefined,
    intervalMs: 5000,
    timeoutMs: 1000,
    unhealthyThreshold: 2,
    healthyThreshold: 1,
  },
  outlier: { consecutiveFailures: 5, baseEjectionMs: 10_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
  maxMessageSize: 0,
  timeoutMs: 0,
  maxAttempts: 3,
  tls: undefined,
};

/** Collects every problem of one file before failing. */
class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(value: Obj, allowed: readonly string[], path: string, p: Problems): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) p.add(`${path}.${key}`, `unknown key; expected one of ${allowed.join(', ')}`);
  }
}

function durationOf(v: unknown, path: string, p: Problems, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined || ms < 0) {
    p.add(path, `expected a duration like 500ms, 5s or 2m, got ${JSON.stringify(v)}`);
    return fallback;
  }
  return ms;
}

function sizeOf(v: unknown, path: string, p: Problems, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  const n = typeof v === 'string' ? parseByteSize(v) : undefined;
  if (n === undefined) {
    p.add(path, `expected a size like 100MiB or 0 (unlimited), got ${JSON.stringify(v)}`);
    return fallback;
  }
  return n;
}

function intOf(v: unknown, path: string, p: Problems, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  p.add(path, `expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return fallback;
}

function oneOfValue<T extends string>(v: unknown, values: readonly T[], path: string, p: Problems, fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  p.add(path, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return fallback;
}

function stringOf(v: unknown, path: string, p: Problems): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  p.add(path, `expected a string, got ${JSON.stringify(v)}`);
  return undefined;
}

/** "host:port" → endpoint; problems name the path. */
export function parseEndpoint(text: string): EndpointSpec | undefined {
  const hp = parseHostPort(text);
  return hp && hp.port > 0 ? { host: hp.host, port: hp.port } : undefined;
}

const OPTION_KEYS = ['lbPolicy', 'healthCheck', 'outlierDetection', 'maxMessageSize', 'timeout', 'maxAttempts', 'tls'] as const;

function parseOptions(raw: Obj, path: string, base: ClusterOptions, fileDir: string, p: Problems): ClusterOptions {
  const hcRaw = raw['healthCheck'];
  let healthCheck = base.healthCheck;
  if (hcRaw !== undefined) {
    if (!isObj(hcRaw)) p.add(`${path}.healthCheck`, 'expected a mapping');
    else {
      const hp = `${path}.healthCheck`;
      checkKeys(hcRaw, ['kind', 'service', 'model', 'interval', 'timeout', 'unhealthyThreshold', 'healthyThreshold'], hp, p);
      healthCheck = {
        kind: oneOfValue(hcRaw['kind'], HEALTH_CHECK_KINDS, `${hp}.kind`, p, base.healthCheck.kind),
        service: stringOf(hcRaw['service'], `${hp}.service`, p) ?? base.healthCheck.service,
        model: stringOf(hcRaw['model'], `${hp}.model`, p) ?? base.healthCheck.model,
        intervalMs: durationOf(hcRaw['interval'], `${hp}.interval`, p, base.healthCheck.intervalMs),
        timeoutMs: durationOf(hcRaw['timeout'], `${hp}.timeout`, p, base.healthCheck.timeoutMs),
        unhealthyThreshold: intOf(hcRaw['unhealthyThreshold'], `${hp}.unhealthyThreshold`, p, base.healthCheck.unhealthyThreshold, 1, 100),
        healthyThreshold: intOf(hcRaw['healthyThreshold'], `${hp}.healthyThreshold`, p, base.healthCheck.healthyThreshold, 1, 100),
      };
    }
  }
  const odRaw = raw['outlierDetection'];
  let outlier = base.outlier;
  if (odRaw !== undefined) {
    if (!isObj(odRaw)) p.add(`${path}.outlierDetection`, 'expected a mapping');
    else {
      const op = `${path}.outlierDetection`;
      checkKeys(odRaw, ['consecutiveFailures', 'baseEjectionTime', 'maxEjectionTime', 'maxEjectionPercent'], op, p);
      outlier = {
        consecutiveFailures: intOf(odRaw['consecutiveFailures'], `${op}.consecutiveFailures`, p, base.outlier.consecutiveFailures, 0, 1_000_000),
        baseEjectionMs: durationOf(odRaw['baseEjectionTime'], `${op}.baseEjectionTime`, p, base.outlier.baseEjectionMs),
        maxEjectionMs: durationOf(odRaw['maxEjectionTime'], `${op}.maxEjectionTime`, p, base.outlier.maxEjectionMs),
        maxEjectionPercent: intOf(odRaw['maxEjectionPercent'], `${op}.maxEjectionPercent`, p, base.outlier.maxEjectionPercent, 0, 100),
      };
    }
  }
  const tlsRaw = raw['tls'];
  let tls = base.tls;
  if (tlsRaw !== undefined) {
    if (!isObj(tlsRaw)) p.add(`${path}.tls`, 'expected a mapping');
    else {
      const tp = `${path}.tls`;
      checkKeys(tlsRaw, ['ca', 'cert', 'key', 'serverName', 'insecureSkipVerify'], tp, p);
      const file = (key: string): string | undefined => {
        const v = stringOf(tlsRaw[key], `${tp}.${key}`, p);
        return v === undefined ? undefined : isAbsolute(v) ? v : resolve(fileDir, v);
      };
      const insecure = tlsRaw['insecureSkipVerify'];
      if (insecure !== undefined && typeof insecure !== 'boolean') p.add(`${tp}.insecureSkipVerify`, 'expected true or false');
      tls = {
        ca: file('ca') ?? base.tls?.ca,
        cert: file('cert') ?? base.tls?.cert,
        key: file('key') ?? base.tls?.key,
        serverName: stringOf(tlsRaw['serverName'], `${tp}.serverName`, p) ?? base.tls?.serverName,
        insecureSkipVerify: insecure === true,
      };
      if ((tls.cert === undefined) !== (tls.key === undefined)) p.add(tp, 'cert and key go together (client certificate for mTLS)');
    }
  }
  return {
    lbPolicy: oneOfValue(raw['lbPolicy'], LB_POLICIES, `${path}.lbPolicy`, p, base.lbPolicy),
    healthCheck,
    outlier,
    maxMessageSize: sizeOf(raw['maxMessageSize'], `${path}.maxMessageSize`, p, base.maxMessageSize),
    timeoutMs: durationOf(raw['timeout'], `${path}.timeout`, p, base.timeoutMs),
    maxAttempts: intOf(raw['maxAttempts'], `${path}.maxAttempts`, p, base.maxAttempts, 1, 10),
    tls,
  };
}

function parseEndpointList(v: unknown, path: string, p: Problems, required: boolean): { grpc: EndpointSpec[]; rest: EndpointSpec[] } {
  const grpc: EndpointSpec[] = [];
  const rest: EndpointSpec[] = [];
  if (v === undefined) {
    if (required) p.add(path, 'required: at least one "host:port"');
    return { grpc, rest };
  }
  if (!Array.isArray(v) || (required && v.length === 0)) {
    p.add(path, 'expected a non-empty list of "host:port" or {address, rest}');
    return { grpc, rest };
  }
  v.forEach((item, i) => {
    const ip = `${path}[${i}]`;
    let address: unknown = item;
    let restAddress: unknown;
    if (isObj(item)) {
      checkKeys(item, ['address', 'rest'], ip, p);
      address = item['address'];
      restAddress = item['rest'];
    }
    const e = typeof address === 'string' ? parseEndpoint(address) : undefined;
    if (!e) p.add(ip, `expected "host:port" (port 1..65535), got ${JSON.stringify(address)}`);
    else grpc.push(e);
    if (restAddress !== undefined) {
      const r = typeof restAddress === 'string' ? parseEndpoint(restAddress) : undefined;
      if (!r) p.add(`${ip}.rest`, `expected "host:port", got ${JSON.stringify(restAddress)}`);
      else rest.push(r);
    }
  });
  return { grpc, rest };
}

function fail(file: string, problems: readonly string[]): BgError {
  return bgError('BG_CONFIG_INVALID', { problems: problems.map((m) => `${file}: ${m}`) });
}

/** Parses routes.yaml text (see README); throws BG_CONFIG_INVALID listing every problem. */
export function parseRoutesYaml(text: string, file: string, flagDefaults: ClusterOptions = DEFAULT_CLUSTER_OPTIONS): RouteSpec[] {
  const p = new Problems();
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw fail(file, [`not valid YAML: ${(err as Error).message}`]);
  }
  if (!isObj(doc)) throw fail(file, ['expected a mapping with "routes:"']);
  checkKeys(doc, ['defaults', 'routes'], '$', p);
  const fileDir = dirname(resolve(file));
  let defaults = flagDefaults;
  const rawDefaults = doc['defaults'];
  if (rawDefaults !== undefined) {
    if (!isObj(rawDefaults)) p.add('defaults', 'expected a mapping');
    else {
      checkKeys(rawDefaults, OPTION_KEYS, 'defaults', p);
      defaults = parseOptions(rawDefaults, 'defaults', flagDefaults, fileDir, p);
    }
  }
  const rawRoutes = doc['routes'];
  const routes: RouteSpec[] = [];
  if (!Array.isArray(rawRoutes)) p.add('routes', 'required: a list of {modelId, endpoints}');
  else {
    const seen = new Set<string>();
    rawRoutes.forEach((raw, i) => {
      const path = `routes[${i}]`;
      if (!isObj(raw)) {
        p.add(path, 'expected a mapping with modelId and endpoints');
        return;
      }
      checkKeys(raw, ['modelId', 'cluster', 'endpoints', 'restEndpoints', ...OPTION_KEYS], path, p);
      const modelId = raw['modelId'];
      if (typeof modelId !== 'string' || modelId === '') p.add(`${path}.modelId`, 'required: a non-empty string');
      else if (seen.has(modelId)) p.add(`${path}.modelId`, `duplicate model id ${JSON.stringify(modelId)}`);
      else seen.add(modelId);
      const { grpc, rest } = parseEndpointList(raw['endpoints'], `${path}.endpoints`, p, true);
      const extraRest = parseEndpointList(raw['restEndpoints'], `${path}.restEndpoints`, p, false).grpc;
      const options = parseOptions(raw, path, defaults, fileDir, p);
      const id = typeof modelId === 'string' ? modelId : '';
      routes.push({
        modelId: id,
        cluster: stringOf(raw['cluster'], `${path}.cluster`, p) ?? `s${id}s`,
        endpoints: grpc,
        restEndpoints: [...rest, ...extraRest],
        ...options,
      });
    });
  }
  if (p.list.length > 0) throw fail(file, p.list);
  return routes;
}

export function loadRoutesFile(file: string, flagDefaults?: ClusterOptions): RouteSpec[] {
  return parseRoutesYaml(readFileSync(file, 'utf8'), file, flagDefaults);
}

/**
 * `--route ID=HOST:PORT[,HOST:PORT…]` and `--rest_route ID=HOST:PORT[,…]` → routes with the flag defaults.
 * Problems are returned, not thrown, so config loading can report them beside every other flag's.
 */
export function parseRouteFlags(
  routes: readonly string[],
  restRoutes: readonly string[],
  defaults: ClusterOptions = DEFAULT_CLUSTER_OPTIONS,
): { routes: RouteSpec[]; problems: string[] } {
  const problems: string[] = [];
  const parseOne = (flag: string, text: string): { id: string; endpoints: EndpointSpec[] } | undefined => {
    const eq = text.indexOf('=');
    const id = eq > 0 ? text.slice(0, eq).trim() : '';
    const list = eq > 0 ? text.slice(eq + 1).split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
    const endpoints = list.map(parseEndpoint);
    if (id === '' || endpoints.length === 0 || endpoints.some((e) => e === undefined)) {
      problems.push(`--${flag} ${JSON.stringify(text)}: expected ID=HOST:PORT[,HOST:PORT…]`);
      return undefined;
    }
    return { id, endpoints: endpoints as EndpointSpec[] };
  };
  const byId = new Map<string, RouteSpec>();
  for (const text of routes) {
    const r = parseOne('route', text);
    if (!r) continue;
    if (byId.has(r.id)) problems.push(`--route ${JSON.stringify(text)}: model ${r.id} is routed twice`);
    byId.set(r.id, { modelId: r.id, cluster: `s${r.id}s`, endpoints: r.endpoints, restEndpoints: [], ...defaults });
  }
  for (const text of restRoutes) {
    const r = parseOne('rest_route', text);
    if (!r) continue;
    const route = byId.get(r.id);
    if (!route) problems.push(`--rest_route ${JSON.stringify(text)}: model ${r.id} has no --route`);
    else byId.set(r.id, { ...route, restEndpoints: r.endpoints });
  }
  return { routes: [...byId.values()], problems };
}

/**
 * bundle.yaml → one route per model at its serving service (`s<id>s` on the engine's default ports,
 * or `host` for every model when set, as for local runs). KServe-protocol engines get KServe
 * ModelReady health checks for their model; TF Serving gets none (it has no grpc.health.v1).
 */
export function loadBundleRoutes(file: string, defaults: ClusterOptions = DEFAULT_CLUSTER_OPTIONS, host?: string): RouteSpec[] {
  let manifest;
  try {
    manifest = parseBundle(readFileSync(file, 'utf8'), file);
  } catch (err) {
    throw bgError('BG_BUNDLE_INVALID', { file, problems: [(err as Error).message] }, { cause: err });
  }
  return routeTable(manifest, host === undefined ? {} : { hostFor: () => host }).map((route) => ({
    modelId: route.modelId,
    cluster: route.cluster,
    endpoints: route.endpoints,
    restEndpoints: route.restEndpoints,
    ...defaults,
    healthCheck:
      defaults.healthCheck.kind === 'none'
        ? defaults.healthCheck
        : SERVING_ENGINE_DEFAULTS[route.engine].protocol === 'kserve-v2'
          ? { ...defaults.healthCheck, kind: 'kserve', model: route.modelId }
          : { ...defaults.healthCheck, kind: 'none' },
  }));
}
