/**
 * The route table of libnetwork's remote plugin protocol: method → request
 * schema → handler. Adding a call is one line here.
 */
import type { z } from 'zod';
import type { IpamDriver } from './ipamDriver';
import type { NetworkDriver } from './networkDriver';
import * as S from './schemas';

export interface Route {
  schema: z.ZodType;
  handle(body: unknown): object | Promise<object>;
}

function route<T extends z.ZodType>(schema: T, handle: (req: z.infer<T>) => object | Promise<object>): Route {
  return { schema, handle: (body) => handle(body as z.infer<T>) };
}

export function routes(net: NetworkDriver, ipam: IpamDriver): Map<string, Route> {
  const ok = () => ({});
  return new Map<string, Route>([
    ['/Plugin.Activate', route(S.Empty, () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }))],

    ['/NetworkDriver.GetCapabilities', route(S.Empty, () => net.capabilities())],
    ['/NetworkDriver.CreateNetwork', route(S.CreateNetwork, (r) => net.createNetwork(r))],
    ['/NetworkDriver.DeleteNetwork', route(S.NetworkOnly, (r) => net.deleteNetwork(r))],
    ['/NetworkDriver.AllocateNetwork', route(S.AllocateNetwork, () => net.allocateNetwork())],
    ['/NetworkDriver.FreeNetwork', route(S.NetworkOnly, ok)],
    ['/NetworkDriver.CreateEndpoint', route(S.CreateEndpoint, (r) => net.createEndpoint(r))],
    ['/NetworkDriver.DeleteEndpoint', route(S.EndpointRef, (r) => net.deleteEndpoint(r))],
    ['/NetworkDriver.EndpointOperInfo', route(S.EndpointRef, (r) => net.endpointOperInfo(r))],
    ['/NetworkDriver.Join', route(S.Join, (r) => net.join(r))],
    ['/NetworkDriver.Leave', route(S.EndpointRef, (r) => net.leave(r))],
    ['/NetworkDriver.DiscoverNew', route(S.Discover, ok)],
    ['/NetworkDriver.DiscoverDelete', route(S.Discover, ok)],
    ['/NetworkDriver.ProgramExternalConnectivity', route(S.ExternalConnectivity, (r) => net.programExternalConnectivity(r))],
    ['/NetworkDriver.RevokeExternalConnectivity', route(S.EndpointRef, ok)],

    ['/IpamDriver.GetCapabilities', route(S.Empty, () => ipam.capabilities())],
    ['/IpamDriver.GetDefaultAddressSpaces', route(S.Empty, () => ipam.defaultAddressSpaces())],
    ['/IpamDriver.RequestPool', route(S.RequestPool, (r) => ipam.requestPool(r))],
    ['/IpamDriver.ReleasePool', route(S.ReleasePool, (r) => ipam.releasePool(r))],
    ['/IpamDriver.RequestAddress', route(S.RequestAddress, (r) => ipam.requestAddress(r))],
    ['/IpamDriver.ReleaseAddress', route(S.ReleaseAddress, (r) => ipam.releaseAddress(r))],
  ]);
}
