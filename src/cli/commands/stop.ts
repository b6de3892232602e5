/**
 * `weft stop [--keep]`: asks the daemon (status API) to stop, by default taking
 * its bridges and ports out of the kernel; SIGTERM when the API does not answer
 * (which keeps them). Waits until the process is gone.
 */
import { DEFAULTS, hostPort } from '../../daemon/config';
import { isAlive, readPid } from '../../daemon/pidFile';
import { CliError } from '../errors';
import { apiCall } from '../pluginClient';

export interface StopOptions {
  pidFile?: string;
  statusAddr?: string;
  /** leave weft's devices in the kernel */
  keep?: boolean;
}

export async function stop(o: StopOptions): Promise<void> {
  const pid = readPid(o.pidFile ?? DEFAULTS.pidFile);
  if (pid === undefined || !isAlive(pid)) {
    console.log('weft is not running');
    return;
  }
  const keep = o.keep === true;
  try {
    await apiCall(hostPort(o.statusAddr ?? DEFAULTS.statusAddr), 'POST', '/stop', { keep });
  } catch {
    process.kill(pid, 'SIGTERM');
    if (!keep) console.error('weft: the status API did not answer; sent SIGTERM, which leaves weft\'s devices in the kernel');
  }
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      console.log(`weft ${pid} stopped${keep ? ' (devices kept)' : ''}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliError(`weft ${pid} did not stop within 15 s`);
}
