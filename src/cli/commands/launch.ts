/**
 * `weft launch`: start the daemon in the background and return once its plugin
 * socket answers /Plugin.Activate (and, when a Docker engine answers, once the
 * default network exists); `--foreground` runs it attached.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Config, buildConfig, type RawOptions } from '../../daemon/config';
import type * as DaemonMain from '../../daemon/main';
import { runningPid } from '../../daemon/pidFile';
import { CliError } from '../errors';
import { getStatus, pluginAnswers } from '../pluginClient';

export interface LaunchOptions extends RawOptions {
  foreground?: boolean;
}

const START_TIMEOUT_MS = 30_000;

export async function launch(peers: string[], o: LaunchOptions): Promise<void> {
  const config = buildConfig({ ...o, peers });
  const other = runningPid(config.pidFile);
  if (other !== undefined) throw new CliError(`weft is already running (pid ${other}); 'weft stop' first`);
  if (await pluginAnswers(config.socketPath)) throw new CliError(`something already answers on ${config.socketPath}; is another weft running?`);
  if (o.foreground) return foreground(config);
  return background(config, daemonArgs({ ...o, peers }));
}

/** the background daemon is this same command with --foreground and the options as given */
export function daemonArgs(o: RawOptions): string[] {
  const flags: Array<[keyof RawOptions, string]> = [
    ['name', '--name'], ['driver', '--driver'], ['stateDir', '--state-dir'], ['pidFile', '--pid-file'], ['logFile', '--log-file'], ['statusAddr', '--status-addr'],
    ['ipallocRange', '--ipalloc-range'], ['ipallocDefaultSubnet', '--ipalloc-default-subnet'], ['mtu', '--mtu'], ['logLevel', '--log-level'],
    ['port', '--port'], ['advertise', '--advertise'], ['nickname', '--nickname'], ['vxlanPort', '--vxlan-port'],
    ['bridgesNetns', '--bridges-netns'],
  ];
  const args: string[] = [];
  for (const [key, flag] of flags) {
    const v = o[key];
    if (typeof v === 'string') args.push(flag, v);
  }
  if (o.defaultNetwork === false) args.push('--no-default-network');
  if (o.fastdp === false) args.push('--no-fastdp');
  if (o.bpf === false) args.push('--no-bpf');
  if (o.removeOnSignal === true) args.push('--remove-on-signal');
  // the password goes by environment, never on a command line others can read in ps
  return [...args, ...(o.peers ?? [])];
}

async function foreground(config: Config): Promise<void> {
  // loaded here, not at the top: every other command (status, stop, ps…) starts without the daemon's
  // modules (express, zod, prom-client, the mesh…), in about a quarter of the time
  const { AlreadyRunning, runDaemon } = require('../../daemon/main') as typeof DaemonMain;
  let daemon;
  try {
    daemon = await runDaemon(config);
  } catch (e) {
    if (e instanceof AlreadyRunning) throw new CliError(e.message);
    throw e;
  }
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void daemon.stop({ keep: !config.removeOnSignal });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    void daemon.stopped.then(() => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    });
  });
}

async function background(config: Config, argv: string[]): Promise<void> {
  fs.mkdirSync(path.dirname(config.logFile), { recursive: true });
  const logFd = fs.openSync(config.logFile, 'a');
  const logStart = fs.fstatSync(logFd).size;
  const child = spawn(process.execPath, [...process.execArgv, require.main?.filename ?? process.argv[1], 'launch', '--foreground', ...argv], {
    detached: true,
    env: { ...process.env, ...(config.password ? { WEFT_PASSWORD: config.password } : {}) },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.unref();

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new CliError(`weft exited during start (code ${exited}): ${lastError(config.logFile, logStart)}`);
    if (await pluginAnswers(config.socketPath)) break;
    await sleep(100);
  }
  if (!(await pluginAnswers(config.socketPath))) {
    throw new CliError(`weft did not answer on ${config.socketPath} within ${START_TIMEOUT_MS / 1000} s; see ${config.logFile}`);
  }
  // with a Docker engine, wait for the default network so `docker run --net weft` works right away
  while (Date.now() < deadline) {
    const s = await getStatus(config.statusAddr).catch(() => undefined);
    const docker = s?.docker as { checked?: boolean; reachable?: boolean; defaultNetwork?: { state: string; detail?: string } } | undefined;
    const state = docker?.defaultNetwork?.state;
    if (docker?.checked && (!docker.reachable || (state !== 'pending' && state !== 'error'))) {
      if (state === 'mismatch') console.error(`weft: warning: ${docker.defaultNetwork?.detail}`);
      break;
    }
    if (Date.now() + 300 >= deadline && state === 'error') console.error(`weft: warning: default network not created yet: ${docker?.defaultNetwork?.detail}`);
    await sleep(200);
  }
  console.log(`weft ${child.pid} started; plugin ${config.socketPath}; log ${config.logFile}`);
}

function lastError(logFile: string, from: number): string {
  try {
    const lines = fs.readFileSync(logFile, 'utf8').slice(from).trim().split('\n');
    for (const l of lines.reverse()) {
      try {
        const j = JSON.parse(l) as { msg?: string; err?: { message?: string } };
        if (j.err?.message) return j.err.message;
      } catch {
        if (l.trim()) return l.trim();
      }
    }
  } catch {
    /* no log */
  }
  return `see ${logFile}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
