/** Temporary directories and SQLite files for tests, all removed after the test file. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** a maker of fresh directories under os.tmpdir(), named `prefix…`; registers the cleanup with afterAll */
export function tmpDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** a maker of fresh database paths, each in a directory of its own */
export function tmpDbs(prefix: string): () => string {
  const dir = tmpDirs(prefix);
  return () => path.join(dir(), 'weft.db');
}
