// `--state FILE`: the emulated system saved atomically (temp file, fsync, rename, fsync of the
// directory) after every change, so a crash of the server never loses an acknowledged write.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
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

  /** Writes the system's state durably; the old file stays intact until the rename. */
  save(sys: CmaSystem): void {
    const data = Buffer.from(stateToJson(systemToState(sys)));
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
