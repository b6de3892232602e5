/** libnetwork's IpamDriver calls, validated and turned into calls on Ipam. */
import type { z } from 'zod';
import type { Ipam } from '../ipam/ipam';
import { normalizeMac } from '../network/names';
import { BadRequest } from './errors';
import type * as S from './schemas';

const GATEWAY_TYPE = 'com.docker.network.gateway';
const MAC_OPTION = 'com.docker.network.endpoint.macaddress';

export class IpamDriver {
  constructor(private readonly ipam: Ipam) {}

  capabilities(): object {
    // weft keeps its own state; replays after a dockerd restart would only repeat it
    return { RequiresMACAddress: true, RequiresRequestReplay: false };
  }

  defaultAddressSpaces(): object {
    return { LocalDefaultAddressSpace: 'weft-local', GlobalDefaultAddressSpace: 'weft-global' };
  }

  requestPool(req: z.infer<typeof S.RequestPool>): object {
    if (req.Options && Object.keys(req.Options).length > 0) {
      throw new BadRequest(`weft: unknown IPAM option ${Object.keys(req.Options).join(', ')}`);
    }
    const r = this.ipam.requestPool({ pool: req.Pool, subPool: req.SubPool, v6: req.V6 });
    return { PoolID: r.poolId, Pool: r.pool, Data: {} };
  }

  releasePool(req: z.infer<typeof S.ReleasePool>): object {
    this.ipam.releasePool(req.PoolID);
    return {};
  }

  async requestAddress(req: z.infer<typeof S.RequestAddress>): Promise<object> {
    const opts = req.Options ?? {};
    let mac: string | undefined;
    if (opts[MAC_OPTION]) {
      mac = normalizeMac(opts[MAC_OPTION]);
      if (!mac) throw new BadRequest(`weft: bad MAC address ${JSON.stringify(opts[MAC_OPTION])}`);
    }
    const r = await this.ipam.requestAddress({
      poolId: req.PoolID,
      address: req.Address,
      gateway: opts.RequestAddressType === GATEWAY_TYPE,
      ...(mac ? { mac } : {}),
    });
    return { Address: r.address, Data: {} };
  }

  releaseAddress(req: z.infer<typeof S.ReleaseAddress>): object {
    this.ipam.releaseAddress(req.PoolID, req.Address);
    return {};
  }
}
