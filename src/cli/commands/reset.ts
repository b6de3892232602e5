/**
 * `weft reset [--force]`: stops weft (devices out of the kernel) and removes its
 * state: the address space it owns, its networks and endpoints. Asks first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { DEFAULTS } from '../../daemon/config';
import { CliError } from '../errors';
import { stop, type StopOptions } from './stop';

const STATE_FILES = ['weft.db', 'weft.db-wal', 'weft.db-shm'];

export async function reset(o: StopOptions & { force?: boolean; stateDir?: string }, input: NodeJS.ReadableStream = process.stdin): Promise<void> {
  const dir = path.resolve(o.stateDir ?? DEFAULTS.stateDir);
  if (!o.force) {
    process.stdout.write(`This stops weft and removes its state in ${dir}: the address space this peer owns, its networks and endpoints.\nType "yes" to go on: `);
    const answer = await firstLine(input);
    if (answer?.trim() !== 'yes') throw new CliError('weft reset: not confirmed; nothing changed');
  }
  await stop({ ...o, keep: false });
  const removed = STATE_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
  for (const f of removed) fs.rmSync(path.join(dir, f), { force: true });
  console.log(removed.length ? `weft state removed from ${dir}` : `no weft state in ${dir}`);
}

function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input });
    let done = false;
    rl.once('line', (l) => {
      done = true;
      rl.close();
      resolve(l);
    });
    rl.once('close', () => {
      if (!done) resolve(undefined);
    });
  });
}
