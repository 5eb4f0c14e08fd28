import { randomBytes } from 'node:crypto';
import { copyFile, link, lstat, mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Staging lives inside the models dir so every rename stays on one filesystem. */
export const STAGING_DIR = '.staging';

/**
 * Per-model scratch space under `<models>/.staging/<id>/`: staged versions, the trash of replaced ones,
 * and a journal per in-flight swap so a run killed between its two renames is repaired by the next one.
 */
export class ModelStaging {
  readonly root: string;
  constructor(
    readonly modelsDir: string,
    readonly modelId: string,
  ) {
    this.root = join(modelsDir, STAGING_DIR, modelId);
  }

  /**
   * Finishes or undoes what a killed run left: a version missing from the model dir is put back from
   * its staged copy (complete: journals are written only then) or from the trash; then all scratch
   * space is removed, partial downloads included.
   */
  async recover(): Promise<string[]> {
    const repaired: string[] = [];
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return repaired;
    }
    for (const name of names.filter((n) => n.startsWith('swap-') && n.endsWith('.json'))) {
      let journal: { target: string; staged: string; trash: string };
      try {
        journal = JSON.parse(await readFile(join(this.root, name), 'utf8')) as typeof journal;
      } catch {
        continue;
      }
      if (!(await exists(journal.target))) {
        if (await exists(journal.staged)) await rename(journal.staged, journal.target);
        else if (await exists(journal.trash)) await rename(journal.trash, journal.target);
        repaired.push(journal.target);
      }
    }
    await rm(this.root, { recursive: true, force: true });
    await rmdir(dirname(this.root)).catch(() => undefined);
    return repaired;
  }

  /** A fresh, empty directory for building one version (or one root file). */
  async newDir(label: string): Promise<string> {
    const dir = join(this.root, `${label.replace(/[^A-Za-z0-9._-]/g, '_')}.${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Puts `staged` at `target` with renames only. A missing target takes one atomic rename; an existing
   * one is moved to the trash first, with a journal so a kill between the two renames is repaired.
   * Serving engines thus see the old complete version, briefly none, then the new complete one.
   */
  async install(staged: string, target: string): Promise<void> {
    await mkdir(dirname(target), { recursive: true });
    if (!(await exists(target))) {
      await rename(staged, target);
      return;
    }
    const token = randomBytes(4).toString('hex');
    const trash = join(this.root, `trash.${token}`);
    const journal = join(this.root, `swap-${token}.json`);
    await writeFile(journal, JSON.stringify({ target, staged, trash }));
    await rename(target, trash);
    await rename(staged, target);
    await rm(journal, { force: true });
    await rm(trash, { recursive: true, force: true });
  }

  /** Takes a path out of the model dir (prune): renamed away first, so it vanishes at once, then deleted. */
  async remove(target: string): Promise<void> {
    if (!(await exists(target))) return;
    await mkdir(this.root, { recursive: true });
    const trash = join(this.root, `trash.${randomBytes(4).toString('hex')}`);
    await rename(target, trash);
    await rm(trash, { recursive: true, force: true });
  }

  /** Removes the scratch space once the model is done. */
  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
    await rmdir(dirname(this.root)).catch(() => undefined);
  }
}

/** Reuses an unchanged file in a staged version: a hard link (same filesystem), or a copy where links are refused. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
    await copyFile(from, to);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
