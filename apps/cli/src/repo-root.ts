import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// `up` runs the apps of a checkout: find its root from wherever the CLI runs (src/ under jest, dist/ when built).

/** The nearest directory at or above `start` whose package.json is the Bundlegate workspace root. */
export function findRepoRoot(start: string): string | undefined {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; workspaces?: unknown };
        if (pkg.name === 'bundlegate' && Array.isArray(pkg.workspaces)) return dir;
      } catch {
        // an unreadable package.json is not the root; keep looking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The demo bundle `up` serves by default. */
export function demoBundle(repoRoot: string): string {
  return join(repoRoot, 'deploy', 'demo', 'bundle.yaml');
}
