import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { ERRORS } from './errors';

// docs/errors.md is what users read; this keeps it listing exactly the registry, with the same statuses
const DOC = join(__dirname, '..', '..', '..', 'docs', 'errors.md');

function documentedRows(): Map<string, { http: number; grpc: string }> {
  const rows = new Map<string, { http: number; grpc: string }>();
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const m = /^\|\s*`(BG_[A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|\s*`([A-Z_]+)`\s*\|/.exec(line);
    if (!m) continue;
    const code = m[1] as string;
    if (rows.has(code)) throw new Error(`${code} is listed twice in docs/errors.md`);
    rows.set(code, { http: Number(m[2]), grpc: m[3] as string });
  }
  return rows;
}

describe('docs/errors.md', () => {
  const rows = documentedRows();

  it('lists exactly the codes of the registry', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('gives each code the registry HTTP and gRPC status', () => {
    for (const [code, entry] of Object.entries(ERRORS)) {
      expect({ code, ...rows.get(code) }).toEqual({ code, http: entry.http, grpc: status[entry.grpc] });
    }
  });
});
