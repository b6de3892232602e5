/** `weft stop`: SIGTERM the daemon named in the pid file and wait until it is gone. */
import { DEFAULTS } from '../../daemon/config';
import { isAlive, readPid } from '../../daemon/pidFile';
import { CliError } from '../errors';

export async function stop(o: { pidFile?: string }): Promise<void> {
  const file = o.pidFile ?? DEFAULTS.pidFile;
  const pid = readPid(file);
  if (pid === undefined || !isAlive(pid)) {
    console.log('weft is not running');
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      console.log(`weft ${pid} stopped`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliError(`weft ${pid} did not stop within 15 s`);
}
