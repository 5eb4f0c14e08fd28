/** Node flags for a service a benchmark starts: its deployed package.json nodeFlags, then BENCH_NODE_FLAGS. */
export function serviceNodeFlags(root: string, app: string): string[];
