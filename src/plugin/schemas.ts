/**
 * The shapes of libnetwork's remote-driver and remote-IPAM requests (Docker 20.10),
 * as zod schemas: validation and the TypeScript types come from one place.
 * Lenient where Docker is loose (null for empty maps, absent optional fields),
 * strict where weft derives names or addresses from a value.
 */
import { z } from 'zod';

/** Docker's ids are 64 hex digits; weft builds device names from their prefixes */
const id = z.string().regex(/^[0-9A-Za-z]{1,128}$/, 'must be 1-128 letters or digits');
const optionMap = z.record(z.string(), z.unknown()).nullish();
const text = z.string().nullish().transform((s) => s ?? '');

const ipData = z.object({
  AddressSpace: text,
  Pool: z.string(),
  Gateway: text,
  AuxAddresses: z.record(z.string(), z.string()).nullish(),
});

export const CreateNetwork = z.object({
  NetworkID: id,
  Options: optionMap,
  IPv4Data: z.array(ipData).nullish(),
  IPv6Data: z.array(ipData).nullish(),
});
export const NetworkOnly = z.object({ NetworkID: id });
export const AllocateNetwork = CreateNetwork;
export const CreateEndpoint = z.object({
  NetworkID: id,
  EndpointID: id,
  Options: optionMap,
  Interface: z
    .object({ Address: text, AddressIPv6: text, MacAddress: text })
    .nullish(),
});
export const EndpointRef = z.object({ NetworkID: id, EndpointID: id });
export const Join = z.object({ NetworkID: id, EndpointID: id, SandboxKey: z.string().min(1), Options: optionMap });
export const ExternalConnectivity = z.object({ NetworkID: id, EndpointID: id, Options: optionMap });
export const Discover = z.object({ DiscoveryType: z.number().int(), DiscoveryData: z.unknown() });

export const RequestPool = z.object({
  AddressSpace: text,
  Pool: text,
  SubPool: text,
  Options: z.record(z.string(), z.string()).nullish(),
  V6: z.boolean().nullish().transform((b) => b ?? false),
});
export const ReleasePool = z.object({ PoolID: z.string().min(1) });
export const RequestAddress = z.object({
  PoolID: z.string().min(1),
  Address: text,
  Options: z.record(z.string(), z.string()).nullish(),
});
export const ReleaseAddress = z.object({ PoolID: z.string().min(1), Address: z.string().min(1) });
export const Empty = z.object({}).passthrough();

/** One line a person can read: "NetworkID: must be 1-128 letters or digits; IPv4Data: expected array" */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 4)
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}
