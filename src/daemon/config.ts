/**
 * The daemon's configuration: defaults, and the parsing of each value with a
 * one-line error for a bad one. Pure.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { type Cidr, CidrError, containsCidr, formatCidr, parseCidr } from '../addr/cidr';
import { LOG_LEVELS, type LogLevel } from '../util/log';
import { MTU_MAX, MTU_MIN, parseMtu } from '../network/mtu';

export interface Config {
  /** driver and IPAM driver name; the socket is /run/docker/plugins/<name>.sock */
  name: string;
  /** the name Docker knows the driver and IPAM driver by: `name`, or a managed plugin's reference (weft:latest) */
  driver: string;
  socketPath: string;
  stateDir: string;
  pidFile: string;
  logFile: string;
  statusAddr: { host: string; port: number };
  range: Cidr;
  defaultSubnet: Cidr;
  /** undefined: derived from the underlay */
  mtu?: number;
  logLevel: LogLevel;
  dockerHost?: string;
  /** create the default network `weft` in Docker when missing */
  defaultNetwork: boolean;
  /** mesh: peers to connect to at launch ("ip" or "ip:port") */
  peers: string[];
  /** mesh UDP port */
  port: number;
  /** the address other peers reach this one at; undefined: the underlay's address */
  advertise?: string;
  /** mesh password (--password or WEFT_PASSWORD); undefined: no encryption */
  password?: string;
  nickname: string;
  /** the kernel VXLAN fast path (--no-fastdp turns it off: the sleeve carries everything) */
  fastdp: boolean;
  /** eBPF redirects on routed networks' devices (--no-bpf turns them off: the host's stack forwards) */
  bpf: boolean;
  /** UDP port of the kernel VXLAN path, the same on every peer */
  vxlanPort: number;
  /** SIGTERM/SIGINT also take weft's devices out of the kernel (a managed plugin: `docker plugin disable` is a SIGTERM) */
  removeOnSignal: boolean;
  /**
   * where the bridges live: a network namespace of weft's own pinned at this path, out of reach of the
   * host's br_netfilter; undefined (`--bridges-netns host`): the host's namespace
   */
  bridgesNetns?: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const DEFAULTS = {
  name: 'weft',
  stateDir: '/var/lib/weft',
  pidFile: '/run/weft/weft.pid',
  statusAddr: '127.0.0.1:6784',
  range: '10.32.0.0/12',
  defaultSubnet: '10.32.0.0/16',
  logLevel: 'info' as LogLevel,
  port: 6783,
  vxlanPort: 4789,
  bridgesNetns: '/run/netns/weft',
};

export interface RawOptions {
  name?: string;
  driver?: string;
  stateDir?: string;
  pidFile?: string;
  logFile?: string;
  statusAddr?: string;
  ipallocRange?: string;
  ipallocDefaultSubnet?: string;
  mtu?: string;
  logLevel?: string;
  defaultNetwork?: boolean;
  peers?: string[];
  port?: string;
  advertise?: string;
  password?: string;
  nickname?: string;
  fastdp?: boolean;
  bpf?: boolean;
  vxlanPort?: string;
  removeOnSignal?: boolean;
  /** a path, or `host` */
  bridgesNetns?: string;
}

export function buildConfig(o: RawOptions, env: NodeJS.ProcessEnv = process.env): Config {
  const name = o.name ?? DEFAULTS.name;
  if (!/^[a-z][a-z0-9_-]{0,30}$/.test(name)) throw new ConfigError(`--name ${JSON.stringify(name)}: lower-case letters, digits, - and _, starting with a letter`);
  const range = cidrOption('--ipalloc-range', o.ipallocRange ?? DEFAULTS.range);
  const defaultSubnet = cidrOption('--ipalloc-default-subnet', o.ipallocDefaultSubnet ?? defaultSubnetFor(range, o.ipallocRange));
  if (!containsCidr(range, defaultSubnet)) {
    throw new ConfigError(`--ipalloc-default-subnet ${formatCidr(defaultSubnet)} is not inside --ipalloc-range ${formatCidr(range)}`);
  }
  const stateDir = path.resolve(o.stateDir ?? DEFAULTS.stateDir);
  return {
    name,
    driver: driverOption(o.driver ?? name),
    socketPath: `/run/docker/plugins/${name}.sock`,
    stateDir,
    pidFile: path.resolve(o.pidFile ?? DEFAULTS.pidFile),
    logFile: path.resolve(o.logFile ?? path.join(stateDir, 'weft.log')),
    statusAddr: hostPort(o.statusAddr ?? DEFAULTS.statusAddr),
    range,
    defaultSubnet,
    ...(o.mtu !== undefined ? { mtu: mtuOption(o.mtu) } : {}),
    logLevel: logLevel(o.logLevel ?? DEFAULTS.logLevel),
    ...(env.DOCKER_HOST ? { dockerHost: env.DOCKER_HOST } : {}),
    defaultNetwork: o.defaultNetwork ?? true,
    peers: (o.peers ?? []).map((p) => peerAddr(p, o.port)),
    port: portOption(o.port),
    ...(o.advertise !== undefined ? { advertise: peerAddr(o.advertise, o.port) } : {}),
    ...passwordOption(o.password ?? env.WEFT_PASSWORD),
    nickname: nicknameOption(o.nickname ?? os.hostname()),
    fastdp: o.fastdp ?? true,
    bpf: o.bpf ?? true,
    vxlanPort: o.vxlanPort === undefined ? DEFAULTS.vxlanPort : portOption(o.vxlanPort, '--vxlan-port'),
    removeOnSignal: o.removeOnSignal === true,
    ...bridgesNetnsOption(o.bridgesNetns ?? DEFAULTS.bridgesNetns),
  };
}

function bridgesNetnsOption(v: string): { bridgesNetns?: string } {
  if (v === 'host') return {};
  if (!path.isAbsolute(v) || path.normalize(v) !== v || v.endsWith('/')) {
    throw new ConfigError(`--bridges-netns ${JSON.stringify(v)}: an absolute path to pin the namespace at, or host`);
  }
  return { bridgesNetns: v };
}

/** a driver name as Docker has it: a plain name, or a managed plugin's reference ([registry/]repo[:tag]) */
function driverOption(v: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*(?::\d{1,5})?(?:\/[a-z0-9][a-z0-9._-]*)*(?::[\w][\w.-]{0,127})?$/.test(v) || v.length > 255) {
    throw new ConfigError(`--driver ${JSON.stringify(v)}: a driver name or plugin reference, e.g. weft or weft:latest`);
  }
  return v;
}

function portOption(v: string | undefined, flag = '--port'): number {
  if (v === undefined) return DEFAULTS.port;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new ConfigError(`${flag} ${JSON.stringify(v)}: an integer from 1 to 65535`);
  return Number(v);
}

/** "1.2.3.4" or "1.2.3.4:6783" → "1.2.3.4:PORT" */
export function peerAddr(v: string, port?: string): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(v);
  if (!m || m[1].split('.').some((o) => Number(o) > 255) || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
    throw new ConfigError(`peer ${JSON.stringify(v)}: expected an IPv4 address, optionally with :port`);
  }
  return `${m[1]}:${m[2] ?? portOption(port)}`;
}

function passwordOption(v: string | undefined): { password?: string } {
  if (v === undefined || v === '') return {};
  if (v.length < 8) throw new ConfigError('--password: at least 8 characters');
  return { password: v };
}

function nicknameOption(v: string): string {
  const n = v.trim().slice(0, 64);
  if (!/^[\w.-]+$/.test(n)) throw new ConfigError(`--nickname ${JSON.stringify(v)}: letters, digits, '.', '-' and '_'`);
  return n;
}

/** the first /16 of the default range; a user-given range smaller than /16 is its own default subnet */
function defaultSubnetFor(range: Cidr, given: string | undefined): string {
  if (given === undefined) return DEFAULTS.defaultSubnet;
  return range.prefix >= 16 ? formatCidr(range) : formatCidr({ base: range.base, prefix: 16 });
}

function cidrOption(flag: string, v: string): Cidr {
  try {
    const c = parseCidr(v);
    if (c.prefix > 30) throw new ConfigError(`${flag} ${v}: too small, at most /30`);
    return c;
  } catch (e) {
    if (e instanceof CidrError) throw new ConfigError(`${flag}: ${e.message}`);
    throw e;
  }
}

function mtuOption(v: string): number {
  const mtu = parseMtu(v);
  if (mtu === undefined) throw new ConfigError(`--mtu ${JSON.stringify(v)}: an integer from ${MTU_MIN} to ${MTU_MAX}`);
  return mtu;
}

function logLevel(v: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new ConfigError(`--log-level ${JSON.stringify(v)}: one of ${LOG_LEVELS.join(', ')}`);
  return v as LogLevel;
}

export function hostPort(v: string): { host: string; port: number } {
  const m = /^([0-9.]+|localhost|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`--status-addr ${JSON.stringify(v)}: expected HOST:PORT, e.g. 127.0.0.1:6784`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
