// `--state FILE`: the emulated system saved atomically (temp file, fsync, rename, fsync of the
// directory) after every change, so a crash of the server never loses an acknowledged write.

import {
  closeSync,
  promises as fsp,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../../core/config.ts';
import type { SystemState } from '../../core/state.ts';
import { parseState, stateToJson, systemFromState, systemToState } from '../../core/state.ts';
import type { CmaSystem } from '../../core/system.ts';

/** A state file on disk. */
export class StateFile {
  private readonly tmp: string;

  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  }

  /** The saved state, or null when the file does not exist; ConfigError when it is unusable. */
  load(): SystemState | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      throw new ConfigError(`state ${this.path}: cannot read (${code ?? (e as Error).message})`);
    }
    return parseState(text, `state ${this.path}`);
  }

  /** Restores a system from the file, or null when there is none yet. */
  loadSystem(): CmaSystem | null {
    const st = this.load();
    return st ? systemFromState(st, `state ${this.path}`) : null;
  }

  /** The file's text for a system. */
  text(sys: CmaSystem): string {
    return stateToJson(systemToState(sys));
  }

  /** Writes the system's state durably; the old file stays intact until the rename. */
  save(sys: CmaSystem): void {
    const data = Buffer.from(this.text(sys));
    const fd = openSync(this.tmp, 'w', 0o644);
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(this.tmp, this.path);
    try {
      const dfd = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch {
      // some filesystems cannot fsync a directory; the rename is still atomic
    }
  }

  /**
   * Removes the temporary files of earlier runs that died between write and rename (a SIGKILL):
   * `.<name>.tmp-<pid>` whose process is gone. Returns how many were removed.
   */
  removeStaleTemps(): number {
    const prefix = `.${basename(this.path)}.tmp-`;
    let removed = 0;
    let names: string[];
    try {
      names = readdirSync(dirname(this.path));
    } catch {
      return 0;
    }
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(name.slice(prefix.length));
      if (!Number.isSafeInteger(pid) || pid <= 0 || (pid !== process.pid && alive(pid))) continue;
      try {
        unlinkSync(join(dirname(this.path), name));
        removed++;
      } catch {}
    }
    return removed;
  }

  /**
   * saveSync's durable write of already-serialised state, off the event loop: the mount's group
   * commit takes the state of every change made so far and acknowledges them all after one fsync.
   */
  async writeDurably(text: string): Promise<void> {
    const h = await fsp.open(this.tmp, 'w', 0o644);
    try {
      await h.writeFile(text);
      await h.sync();
    } finally {
      await h.close();
    }
    await fsp.rename(this.tmp, this.path);
    try {
      const d = await fsp.open(dirname(this.path), 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      // some filesystems cannot fsync a directory; the rename is still atomic
    }
  }

  /** Checks that the file's directory is writable before serving (a clear error, not a crash later). */
  checkWritable(): void {
    try {
      const fd = openSync(this.tmp, 'w', 0o644);
      closeSync(fd);
      unlinkSync(this.tmp);
    } catch (e) {
      throw new ConfigError(
        `state ${this.path}: cannot write in ${dirname(this.path)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
