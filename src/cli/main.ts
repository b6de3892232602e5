#!/usr/bin/env node
/** The weft command line: one file per command under ./commands; this file only parses. */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, DEFAULTS } from '../daemon/config';
import { VERSION } from '../version';
import { launch } from './commands/launch';
import { connect, forget, rmpeer } from './commands/peers';
import { ps } from './commands/ps';
import { status } from './commands/status';
import { reset } from './commands/reset';
import { stop } from './commands/stop';
import { CliError } from './errors';

function program(): Command {
  const p = new Command('weft')
    .description('weft: an overlay network for Docker (libnetwork remote driver + IPAM)')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.split('\n')[0] + '\n') });

  p.command('launch')
    .description('start the weft daemon (in the background unless --foreground)')
    .argument('[peers...]', 'other weft hosts to connect to')
    .option('--foreground', 'stay attached; log to stdout')
    .option('--name <name>', 'driver and IPAM driver name (socket /run/docker/plugins/<name>.sock)', DEFAULTS.name)
    .option('--driver <name>', 'the driver and IPAM driver name in Docker (default: --name; a managed plugin: its reference, e.g. weft:latest)')
    .option('--state-dir <dir>', 'where weft keeps its state', DEFAULTS.stateDir)
    .option('--pid-file <file>', 'pid file', DEFAULTS.pidFile)
    .option('--log-file <file>', 'log file when in the background (default <state-dir>/weft.log)')
    .option('--status-addr <host:port>', 'status API address', DEFAULTS.statusAddr)
    .option('--ipalloc-range <cidr>', 'the address range weft allocates from', DEFAULTS.range)
    .option('--ipalloc-default-subnet <cidr>', `subnet of the default network (default ${DEFAULTS.defaultSubnet})`)
    .option('--mtu <bytes>', 'MTU of weft networks (default: the underlay MTU less 50)')
    .addOption(new Option('--log-level <level>', 'log level').default(DEFAULTS.logLevel))
    .option('--no-default-network', 'do not create the default network "weft" in Docker')
    .option('--port <port>', 'mesh UDP port', String(DEFAULTS.port))
    .option('--advertise <ip[:port]>', 'address other peers reach this one at (default: the underlay address)')
    .option('--password <password>', 'encrypt and authenticate the mesh (or WEFT_PASSWORD)')
    .option('--nickname <name>', 'this peer\'s name in status (default: the hostname)')
    .option('--no-fastdp', 'no kernel VXLAN path: weft carries all traffic between hosts (the sleeve)')
    .option('--no-bpf', 'no eBPF redirects on routed networks: the host\'s IP stack forwards their traffic')
    .option('--vxlan-port <port>', 'UDP port of the kernel VXLAN path, the same on every peer', String(DEFAULTS.vxlanPort))
    .option('--remove-on-signal', 'SIGTERM/SIGINT also take weft\'s devices out of the kernel, as weft stop does (a managed plugin)')
    .option('--bridges-netns <path|host>', 'the network namespace weft\'s bridges live in, pinned at this path; host: the host\'s own', DEFAULTS.bridgesNetns)
    .action(async (peers: string[], opts: Record<string, unknown>) => {
      await launch(peers, {
        foreground: opts.foreground === true,
        name: opts.name as string,
        driver: opts.driver as string | undefined,
        stateDir: opts.stateDir as string,
        pidFile: opts.pidFile as string,
        logFile: opts.logFile as string | undefined,
        statusAddr: opts.statusAddr as string,
        ipallocRange: opts.ipallocRange as string,
        ipallocDefaultSubnet: opts.ipallocDefaultSubnet as string | undefined,
        mtu: opts.mtu as string | undefined,
        logLevel: opts.logLevel as string,
        defaultNetwork: opts.defaultNetwork !== false,
        port: opts.port as string,
        advertise: opts.advertise as string | undefined,
        password: opts.password as string | undefined,
        nickname: opts.nickname as string | undefined,
        fastdp: opts.fastdp !== false,
        bpf: opts.bpf !== false,
        vxlanPort: opts.vxlanPort as string,
        removeOnSignal: opts.removeOnSignal === true,
        bridgesNetns: opts.bridgesNetns as string,
      });
    });

  p.command('stop')
    .description('stop the weft daemon and take its bridges and ports out of the kernel')
    .option('--keep', 'leave weft\'s devices in the kernel')
    .option('--pid-file <file>', 'pid file', DEFAULTS.pidFile)
    .option('--status-addr <host:port>', 'status API address', DEFAULTS.statusAddr)
    .action(async (opts: { pidFile: string; statusAddr: string; keep?: boolean }) => stop(opts));

  p.command('reset')
    .description('stop weft and remove its state (address space, networks, endpoints), after confirmation')
    .option('--force', 'do not ask')
    .option('--state-dir <dir>', 'where weft keeps its state', DEFAULTS.stateDir)
    .option('--pid-file <file>', 'pid file', DEFAULTS.pidFile)
    .option('--status-addr <host:port>', 'status API address', DEFAULTS.statusAddr)
    .action(async (opts: { force?: boolean; stateDir: string; pidFile: string; statusAddr: string }) => reset(opts));

  p.command('status')
    .description('show what weft knows: networks, endpoints, allocations')
    .option('--json', 'machine-readable')
    .option('--status-addr <host:port>', 'status API address', DEFAULTS.statusAddr)
    .action(async (opts: { json?: boolean; statusAddr: string }) => status(opts));

  p.command('connect')
    .description('connect to another weft peer at run time')
    .argument('<peer>', 'ip[:port]')
    .option('--status-addr <host:port>', 'status API address', DEFAULTS.statusAddr)
    .action(async (peer: string, opts: { statusAddr: string }) => connect(peer, opts));

  p.command('forget')
    .description('stop connecting to a peer given with launch or connect')
    .argument('<peer>', 'ip[:port]')
    .option('--status-addr <host:port>', 'status API address', DEFAULTS.statusAddr)
    .action(async (peer: string, opts: { statusAddr: string }) => forget(peer, opts));

  p.command('rmpeer')
    .description('take over the address space of a peer gone for good (refused while it answers)')
    .argument('<peer>', 'peer id or nickname')
    .option('--status-addr <host:port>', 'status API address', DEFAULTS.statusAddr)
    .action(async (peer: string, opts: { statusAddr: string }) => rmpeer(peer, opts));

  p.command('ps')
    .description('containers on weft networks across the cluster: host, name, address, MAC')
    .option('--json', 'machine-readable')
    .option('--status-addr <host:port>', 'status API address', DEFAULTS.statusAddr)
    .action(async (opts: { statusAddr: string; json?: boolean }) => ps(opts));

  p.command('version')
    .description('print the version')
    .action(() => console.log(VERSION));
  return p;
}

async function main(): Promise<void> {
  try {
    await program().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were printed (one line) by commander
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (e instanceof CliError || e instanceof ConfigError) {
      console.error(e.message.startsWith('weft') ? e.message : `weft: ${e.message}`);
      process.exitCode = e instanceof CliError ? e.exitCode : 2;
      return;
    }
    console.error(`weft: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  }
}

void main();
