/** Node flags for a service a benchmark starts: its deployed package.json nodeFlags, then BENCH_NODE_FLAGS. */
export function serviceNodeFlags(root: string, app: string): string[];
/** Environment a service is deployed with: its package.json `bundlegate.env`. */
export function serviceEnv(root: string, app: string): Record<string, string>;
