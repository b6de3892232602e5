/** The pid file: who is running, so a second launch refuses and `weft stop` knows whom to signal. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** alive and not a zombie: a daemon killed with -9 stays a zombie until its new parent reaps it */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) S …"; the state follows the last ')'
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** the pid of a live weft recorded in the file, if any */
export function runningPid(file: string): number | undefined {
  const pid = readPid(file);
  return pid !== undefined && pid !== process.pid && isAlive(pid) ? pid : undefined;
}

export function writePid(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${process.pid}\n`);
}

export function removePid(file: string): void {
  if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
}
