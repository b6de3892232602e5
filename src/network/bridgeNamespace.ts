/**
 * Where the daemon puts weft's bridges (src/network/namespaces.ts): in a network namespace of weft's
 * own, pinned at a path, where the host's br_netfilter, which Docker turns on, does not see the frames
 * weft bridges (measured at 0.94× Docker's overlay with it, 1.07× without: README); or in the host's
 * namespace when told so, or when weft may not make a namespace (no CAP_SYS_ADMIN, as in a container).
 */
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import { currentNetns, ensureNetns, isPinned, type NetnsHandle, openNetns, removeNetns, withNetns } from '../netlink/netns';
import { RtNetlink } from '../netlink/rtnetlink';
import { EPERM, SyscallError } from '../util/syscall';
import type { Netlink } from '../netlink/types';
import { type Namespaces, oneNamespace, type Side } from './namespaces';

export interface BridgeNamespace {
  ns: Namespaces;
  /** for status: the pin's path, or why the bridges are in the host's namespace */
  where: string;
  /** closes what was opened here; the namespace stays pinned (running containers' veths live in it) */
  close(): Promise<void>;
  /**
   * Once the reconciler has taken what it needed from Namespaces.previous: closes it and removes its pin,
   * so the namespace goes. Nothing to do without one.
   */
  retirePrevious(): Promise<void>;
}

export interface BridgeNamespaceOptions {
  /** where an earlier weft may have pinned the bridges' namespace (the default --bridges-netns), looked at with `host` */
  former?: string;
  /** ensureNetns, or a test's stand-in */
  make?: (pin: string) => NetnsHandle;
}

/** br_netfilter's switches (per namespace since Linux 5.3), on by default in a new namespace */
const BRIDGE_NF = ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables', 'bridge-nf-call-arptables'];

/** `pin` undefined: the host's namespace. `host`: the daemon's netlink there. */
export async function openBridgeNamespace(
  host: Netlink, pin: string | undefined, log: Logger, o: BridgeNamespaceOptions = {},
): Promise<BridgeNamespace> {
  const hostRef = currentNetns();
  const inHost = async (where: string): Promise<BridgeNamespace> => {
    const previous = await openPrevious(o.former, log);
    return {
      ns: { ...oneNamespace(host, hostRef), ...(previous ? { previous: previous.side } : {}) },
      where,
      close: async () => {
        await previous?.close();
        hostRef.close();
      },
      retirePrevious: async () => previous?.retire(),
    };
  };
  if (pin === undefined) return inHost('the host namespace (--bridges-netns host)');
  let ref: NetnsHandle;
  try {
    ref = (o.make ?? ensureNetns)(pin);
  } catch (e) {
    if (!(e instanceof SyscallError && e.errno === EPERM)) {
      hostRef.close();
      throw e;
    }
    log.warn({ err: e, pin }, 'no network namespace for the bridges without CAP_SYS_ADMIN: they stay in the host namespace, where br_netfilter sees their traffic');
    return inHost('the host namespace (no CAP_SYS_ADMIN to make one)');
  }
  quietBridgeNetfilter(ref, log);
  let bridges: RtNetlink;
  try {
    bridges = await RtNetlink.openIn(ref);
  } catch (e) {
    ref.close();
    hostRef.close();
    throw e;
  }
  return {
    ns: { host: { nl: host, ref: hostRef }, bridges: { nl: bridges, ref } },
    where: pin,
    close: async () => {
      await bridges.close();
      ref.close();
      hostRef.close();
    },
    retirePrevious: async () => undefined,
  };
}

/**
 * The namespace an earlier weft pinned at `former`, if there is one to look into; a failure to open it
 * is logged (the devices in it stay, and so does their VXLAN port's hold on its VNI).
 */
async function openPrevious(former: string | undefined, log: Logger): Promise<{ side: Side; close(): Promise<void>; retire(): Promise<void> } | undefined> {
  if (former === undefined || !isPinned(former)) return undefined;
  let ref: NetnsHandle | undefined;
  try {
    ref = openNetns(former);
    const nl = await RtNetlink.openIn(ref);
    const r = ref;
    const close = async () => {
      await nl.close();
      r.close();
    };
    return {
      side: { nl, ref: r },
      close,
      retire: async () => {
        await close();
        removeNetns(former);
        log.info({ pin: former }, 'removed the namespace an earlier weft kept its bridges in');
      },
    };
  } catch (e) {
    ref?.close();
    log.warn({ err: e, pin: former }, 'could not look into the namespace an earlier weft kept its bridges in; its devices stay');
    return undefined;
  }
}

/**
 * Nothing in the bridges' namespace filters, so br_netfilter's hooks there would only cost time. A
 * br_netfilter loaded after this (Docker loads it at its start) turns them on again for every
 * namespace; the next launch turns them off.
 */
function quietBridgeNetfilter(ref: NetnsHandle, log: Logger): void {
  try {
    withNetns(ref, () => {
      for (const name of BRIDGE_NF) {
        const file = `/proc/sys/net/bridge/${name}`;
        if (fs.existsSync(file)) fs.writeFileSync(file, '0');
      }
    });
  } catch (e) {
    log.warn({ err: e }, 'could not turn br_netfilter off in the bridges\' namespace: bridged traffic there passes its (empty) hooks');
  }
}
