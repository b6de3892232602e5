/**
 * libnetwork's NetworkDriver calls, validated and turned into calls on the
 * network model. No HTTP here, no kernel: the route table does the former,
 * Networks the latter.
 */
import type { z } from 'zod';
import { parseAddressWithPrefix, parseCidr, parseOr } from '../addr/cidr';
import { MODE_OPTION, MTU_OPTION } from '../docker/client';
import { type NetworkMode, parseMode } from '../network/model';
import type { Networks } from '../network/networks';
import { MTU_MAX, MTU_MIN, parseMtu } from '../network/mtu';
import { normalizeMac } from '../network/names';
import { BadRequest } from './errors';
import type * as S from './schemas';

const KNOWN_GENERIC = new Set([MTU_OPTION, MODE_OPTION]);

export class NetworkDriver {
  constructor(private readonly networks: Networks) {}

  capabilities(): { Scope: 'local'; ConnectivityScope: 'local' } {
    return { Scope: 'local', ConnectivityScope: 'local' };
  }

  async createNetwork(req: z.infer<typeof S.CreateNetwork>): Promise<object> {
    if (req.IPv6Data && req.IPv6Data.length > 0) throw new BadRequest('weft: IPv6 is not supported; create the network without --ipv6');
    const v4 = req.IPv4Data ?? [];
    if (v4.length !== 1) throw new BadRequest(`weft: a weft network takes exactly one IPv4 subnet (got ${v4.length})`);
    const subnet = cidr(v4[0].Pool, 'subnet');
    let gateway: { ip: number; prefix: number } | undefined;
    if (v4[0].Gateway !== '') {
      gateway = addressWithPrefix(v4[0].Gateway, 'gateway');
      if (gateway.prefix !== subnet.prefix) throw new BadRequest(`weft: gateway ${v4[0].Gateway} does not match subnet ${v4[0].Pool}`);
    }
    const options = req.Options ?? {};
    const generic = objectOption(options['com.docker.network.generic']);
    const unknown = Object.keys(generic).filter((k) => !KNOWN_GENERIC.has(k));
    if (unknown.length) throw new BadRequest(`weft: unknown network option ${unknown.join(', ')} (weft knows ${[...KNOWN_GENERIC].join(', ')})`);
    const mtu = generic[MTU_OPTION] === undefined ? undefined : mtuOption(generic[MTU_OPTION]);
    const mode = generic[MODE_OPTION] === undefined ? undefined : modeOption(generic[MODE_OPTION]);
    const internal = options['com.docker.network.internal'] === true || options['com.docker.network.internal'] === 'true';
    await this.networks.createNetwork({ id: req.NetworkID, subnet, ...(gateway ? { gateway } : {}), ...(mtu ? { mtu } : {}), internal, ...(mode ? { mode } : {}) });
    return {};
  }

  async deleteNetwork(req: z.infer<typeof S.NetworkOnly>): Promise<object> {
    await this.networks.deleteNetwork(req.NetworkID);
    return {};
  }

  async createEndpoint(req: z.infer<typeof S.CreateEndpoint>): Promise<object> {
    const iface = req.Interface ?? { Address: '', AddressIPv6: '', MacAddress: '' };
    if (iface.AddressIPv6 !== '') throw new BadRequest('weft: IPv6 endpoints are not supported');
    if (iface.Address === '') throw new BadRequest('weft: the endpoint has no IPv4 address (Interface.Address is empty)');
    const { ip, prefix } = addressWithPrefix(iface.Address, 'Interface.Address');
    let mac: string | undefined;
    if (iface.MacAddress !== '') {
      mac = normalizeMac(iface.MacAddress);
      if (!mac) throw new BadRequest(`weft: bad MAC address ${JSON.stringify(iface.MacAddress)}`);
    }
    const made = await this.networks.createEndpoint({ networkId: req.NetworkID, endpointId: req.EndpointID, ip, prefix, ...(mac ? { mac } : {}) });
    // Docker refuses replies that repeat what it set; only a MAC it did not give goes back
    return made.generated ? { Interface: { MacAddress: made.mac } } : {};
  }

  async deleteEndpoint(req: z.infer<typeof S.EndpointRef>): Promise<object> {
    await this.networks.deleteEndpoint(req.NetworkID, req.EndpointID);
    return {};
  }

  endpointOperInfo(req: z.infer<typeof S.EndpointRef>): object {
    const ep = this.networks.endpoint(req.NetworkID, req.EndpointID);
    return { Value: { address: ep.address, mac: ep.mac, hostVeth: ep.hostVeth } };
  }

  async join(req: z.infer<typeof S.Join>): Promise<object> {
    const net = this.networks.network(req.NetworkID);
    const r = await this.networks.join(req.NetworkID, req.EndpointID, req.SandboxKey);
    const reply: Record<string, unknown> = { InterfaceName: { SrcName: r.srcName, DstPrefix: 'eth' } };
    // without a gateway Docker would also attach docker_gwbridge; an internal network wants neither
    if (net?.internal) reply.DisableGatewayService = true;
    else if (r.gateway) reply.Gateway = r.gateway;
    return reply;
  }

  async leave(req: z.infer<typeof S.EndpointRef>): Promise<object> {
    await this.networks.leave(req.NetworkID, req.EndpointID);
    return {};
  }

  /** weft maps no ports: the endpoint must exist, nothing else to program */
  programExternalConnectivity(req: z.infer<typeof S.ExternalConnectivity>): object {
    this.networks.endpoint(req.NetworkID, req.EndpointID);
    return {};
  }

  /** swarm-only calls: weft networks are local, so nothing to allocate */
  allocateNetwork(): object {
    return { Options: {} };
  }
}

const bad = (what: string) => (msg: string) => new BadRequest(`weft: bad ${what}: ${msg}`);
const cidr = (text: string, what: string) => parseOr(() => parseCidr(text), bad(what));
const addressWithPrefix = (text: string, what: string) => parseOr(() => parseAddressWithPrefix(text), bad(what));

function objectOption(v: unknown): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new BadRequest('weft: com.docker.network.generic must be an object');
  return v as Record<string, unknown>;
}

function modeOption(v: unknown): NetworkMode {
  const mode = parseMode(v);
  if (mode === undefined) throw new BadRequest(`weft: bad ${MODE_OPTION} ${JSON.stringify(v)}: overlay (one Ethernet segment over VXLAN or the sleeve) or routed (no encapsulation; the hosts share one underlay link)`);
  return mode;
}

function mtuOption(v: unknown): number {
  const mtu = parseMtu(v);
  if (mtu === undefined) throw new BadRequest(`weft: bad ${MTU_OPTION} ${JSON.stringify(v)}: an integer from ${MTU_MIN} to ${MTU_MAX}`);
  return mtu;
}
