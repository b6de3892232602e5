import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { reset } from '../../../src/cli/commands/reset';
import { tmpDirs } from '../../helpers/tmpDb';

const tmpDir = tmpDirs('weft-reset-');

/** a state dir with weft's files and a log; no daemon runs (the pid file names none) */
function stateDir(): string {
  const dir = tmpDir();
  for (const f of ['weft.db', 'weft.db-wal', 'weft.db-shm', 'weft.log']) fs.writeFileSync(path.join(dir, f), 'x');
  return dir;
}

const quiet = () => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
};
afterEach(() => jest.restoreAllMocks());

test('"yes" removes the state and keeps the log', async () => {
  quiet();
  const dir = stateDir();
  await reset({ stateDir: dir, pidFile: path.join(dir, 'none.pid') }, Readable.from(['yes\n']));
  expect(fs.readdirSync(dir)).toEqual(['weft.log']);
});

test('anything else, or no answer, changes nothing', async () => {
  quiet();
  for (const input of [['no\n'], ['']]) {
    const dir = stateDir();
    await expect(reset({ stateDir: dir, pidFile: path.join(dir, 'none.pid') }, Readable.from(input))).rejects.toThrow('not confirmed; nothing changed');
    expect(fs.readdirSync(dir).sort()).toEqual(['weft.db', 'weft.db-shm', 'weft.db-wal', 'weft.log']);
  }
});

test('--force does not ask', async () => {
  quiet();
  const dir = stateDir();
  await reset({ force: true, stateDir: dir, pidFile: path.join(dir, 'none.pid') }, Readable.from([]));
  expect(fs.existsSync(path.join(dir, 'weft.db'))).toBe(false);
});
