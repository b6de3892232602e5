import { parseCidr } from '../../../src/addr/cidr';
import { IpamError } from '../../../src/ipam/errors';
import { Ipam, type IpamCollections } from '../../../src/ipam/ipam';
import { formatPoolId, parsePoolId } from '../../../src/ipam/poolId';
import { autoPrefix, pickSubnet } from '../../../src/ipam/subnetPicker';
import { MemoryStore } from '../../../src/store/memory';
import { SqliteStore } from '../../../src/store/sqlite';
import type { Store } from '../../../src/store/types';
import { FakeScheduler } from '../../../src/util/scheduler';
import { tmpDbs } from '../../helpers/tmpDb';

const config = { range: parseCidr('10.32.0.0/12'), defaultSubnet: parseCidr('10.32.0.0/16') };
const tmpDb = tmpDbs('weft-ipam-');
const acode = async (fn: () => Promise<unknown>): Promise<string> => {
  try {
    await fn();
  } catch (e) {
    if (e instanceof IpamError) return e.code;
    throw e;
  }
  return 'ok';
};
const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpamError) return e.code;
    throw e;
  }
  return 'ok';
};

function fresh(store: Store<IpamCollections> = new MemoryStore<IpamCollections>(), users: Record<string, string> = {}) {
  return new Ipam(store, new FakeScheduler(), config, (s) => users[`${s.base}/${s.prefix}`]);
}

describe('pool ids', () => {
  test('format/parse round trip', async () => {
    const c = parseCidr('10.40.0.0/24');
    expect(formatPoolId(c)).toBe('weft:10.40.0.0/24');
    expect(parsePoolId('weft:10.40.0.0/24')).toEqual(c);
  });
  test.each(['', 'p1', 'weft:', 'weft:10.40.0.1/24', 'weft:banana', '10.40.0.0/24'])('%j is no pool id', (id) => {
    expect(code(() => parsePoolId(id))).toBe('NoSuchPool');
  });
});

describe('subnet picker', () => {
  test('first free /20 after the default subnet, deterministic', async () => {
    const r = config.range;
    expect(autoPrefix(r)).toBe(20);
    expect(pickSubnet(r, [config.defaultSubnet])).toEqual(parseCidr('10.33.0.0/20'));
    expect(pickSubnet(r, [config.defaultSubnet, parseCidr('10.33.0.0/20')])).toEqual(parseCidr('10.33.16.0/20'));
    expect(pickSubnet(r, [config.defaultSubnet, parseCidr('10.33.4.0/24')])).toEqual(parseCidr('10.33.16.0/20'));
    expect(pickSubnet(r, [r])).toBeUndefined();
  });
  test('small ranges use blocks 4 bits below', async () => {
    expect(autoPrefix(parseCidr('10.0.0.0/24'))).toBe(28);
    expect(autoPrefix(parseCidr('10.0.0.0/30'))).toBe(32);
  });
});

describe('Ipam', () => {
  test('pool, gateway, addresses in order, release', async () => {
    const ipam = fresh();
    const { poolId, pool } = ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false });
    expect(pool).toBe('10.40.0.0/24');
    expect((await ipam.requestAddress({ poolId, address: '', gateway: true })).address).toBe('10.40.0.1/24');
    expect((await ipam.requestAddress({ poolId, address: '', gateway: false, mac: '02:42:00:00:00:01' })).address).toBe('10.40.0.2/24');
    expect((await ipam.requestAddress({ poolId, address: '', gateway: false })).address).toBe('10.40.0.3/24');
    ipam.releaseAddress(poolId, '10.40.0.2');
    expect((await ipam.requestAddress({ poolId, address: '', gateway: false })).address).toBe('10.40.0.4/24');
    expect(ipam.status()).toEqual([{ id: poolId, subnet: '10.40.0.0/24', size: 254, used: 3, gateway: '10.40.0.1' }]);
  });

  test('--ip honoured, taken one refused, outside/network/broadcast refused', async () => {
    const ipam = fresh();
    const { poolId } = ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false });
    expect((await ipam.requestAddress({ poolId, address: '10.40.0.50', gateway: false })).address).toBe('10.40.0.50/24');
    await expect(ipam.requestAddress({ poolId, address: '10.40.0.50', gateway: false })).rejects.toThrow('10.40.0.50 is already in use');
    expect(await acode(() => ipam.requestAddress({ poolId, address: '10.40.1.5', gateway: false }))).toBe('OutOfPool');
    expect(await acode(() => ipam.requestAddress({ poolId, address: '10.40.0.0', gateway: false }))).toBe('OutOfPool');
    expect(await acode(() => ipam.requestAddress({ poolId, address: '10.40.0.255', gateway: false }))).toBe('OutOfPool');
    expect(await acode(() => ipam.requestAddress({ poolId, address: 'ten', gateway: false }))).toBe('BadRequest');
    expect(ipam.status()[0].used).toBe(1);
  });

  test('gateway requests are idempotent, explicit gateways honoured', async () => {
    const ipam = fresh();
    const { poolId } = ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false });
    expect((await ipam.requestAddress({ poolId, address: '10.40.0.254', gateway: true })).address).toBe('10.40.0.254/24');
    expect((await ipam.requestAddress({ poolId, address: '10.40.0.254', gateway: true })).address).toBe('10.40.0.254/24');
    expect((await ipam.requestAddress({ poolId, address: '', gateway: true })).address).toBe('10.40.0.254/24');
    expect(ipam.status()[0].used).toBe(1);
  });

  test('ip-range narrows automatic addresses only', async () => {
    const ipam = fresh();
    const { poolId } = ipam.requestPool({ pool: '10.40.0.0/24', subPool: '10.40.0.128/30', v6: false });
    expect((await ipam.requestAddress({ poolId, address: '', gateway: true })).address).toBe('10.40.0.1/24');
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await ipam.requestAddress({ poolId, address: '', gateway: false })).address);
    expect(got).toEqual(['10.40.0.128/24', '10.40.0.129/24', '10.40.0.130/24', '10.40.0.131/24']);
    await expect(ipam.requestAddress({ poolId, address: '', gateway: false })).rejects.toThrow('no free address left in ip-range 10.40.0.128/30');
    expect((await ipam.requestAddress({ poolId, address: '10.40.0.9', gateway: false })).address).toBe('10.40.0.9/24');
    expect(code(() => ipam.requestPool({ pool: '10.41.0.0/24', subPool: '10.42.0.0/25', v6: false }))).toBe('BadRequest');
  });

  test('exhaustion is a clear error and changes nothing', async () => {
    const ipam = fresh();
    const { poolId } = ipam.requestPool({ pool: '10.40.0.0/30', subPool: '', v6: false });
    await ipam.requestAddress({ poolId, address: '', gateway: false });
    await ipam.requestAddress({ poolId, address: '', gateway: false });
    await expect(ipam.requestAddress({ poolId, address: '', gateway: false })).rejects.toThrow('no free address left in 10.40.0.0/30');
    expect(ipam.status()[0].used).toBe(2);
  });

  test('overlapping pools are refused; the identical pool is shared unless a network uses it', async () => {
    const users: Record<string, string> = {};
    const ipam = fresh(new MemoryStore<IpamCollections>(), users);
    const a = ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false });
    expect(code(() => ipam.requestPool({ pool: '10.40.0.0/16', subPool: '', v6: false }))).toBe('Overlap');
    expect(code(() => ipam.requestPool({ pool: '10.40.0.128/25', subPool: '', v6: false }))).toBe('Overlap');
    expect(code(() => ipam.requestPool({ pool: '10.40.0.0/24', subPool: '10.40.0.0/25', v6: false }))).toBe('Overlap');
    expect(ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false })).toEqual(a);
    const s = parseCidr('10.40.0.0/24');
    users[`${s.base}/${s.prefix}`] = 'n1';
    expect(() => ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false })).toThrow('already used by weft network n1');
  });

  test('auto pools avoid the default subnet and each other', async () => {
    const ipam = fresh();
    const a = ipam.requestPool({ pool: '', subPool: '', v6: false });
    const b = ipam.requestPool({ pool: '', subPool: '', v6: false });
    expect(a.pool).toBe('10.33.0.0/20');
    expect(b.pool).toBe('10.33.16.0/20');
    ipam.releasePool(a.poolId);
    expect(ipam.requestPool({ pool: '', subPool: '', v6: false }).pool).toBe('10.33.0.0/20');
  });

  test('IPv6, bad CIDRs, unknown pools', async () => {
    const ipam = fresh();
    expect(() => ipam.requestPool({ pool: '', subPool: '', v6: true })).toThrow('IPv6');
    expect(code(() => ipam.requestPool({ pool: '10.40.0.1/24', subPool: '', v6: false }))).toBe('BadRequest');
    expect(code(() => ipam.requestPool({ pool: 'nonsense', subPool: '', v6: false }))).toBe('BadRequest');
    expect(await acode(() => ipam.requestAddress({ poolId: 'weft:10.99.0.0/24', address: '', gateway: false }))).toBe('NoSuchPool');
    expect(await acode(() => ipam.requestAddress({ poolId: 'junk', address: '', gateway: false }))).toBe('NoSuchPool');
    // deletes of things already gone succeed
    expect(() => ipam.releaseAddress('weft:10.99.0.0/24', '10.99.0.5')).not.toThrow();
    expect(() => ipam.releasePool('weft:10.99.0.0/24')).not.toThrow();
    expect(ipam.status()).toEqual([]);
  });

  test('releasing the pool frees its subnet and addresses', async () => {
    const ipam = fresh();
    const { poolId } = ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false });
    await ipam.requestAddress({ poolId, address: '10.40.0.7', gateway: false });
    ipam.releasePool(poolId);
    const again = ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false });
    expect((await ipam.requestAddress({ poolId: again.poolId, address: '10.40.0.7', gateway: false })).address).toBe('10.40.0.7/24');
  });

  describe.each([
    ['memory', () => new MemoryStore<IpamCollections>()],
    ['sqlite', () => new SqliteStore<IpamCollections>(tmpDb())],
  ])('persistence (%s)', (_name, makeStore) => {
    test('a new Ipam on the same store resumes pools, allocations and the cursor', async () => {
      const store = makeStore();
      const a = fresh(store);
      const { poolId } = a.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false });
      await a.requestAddress({ poolId, address: '', gateway: true });
      for (let i = 0; i < 5; i++) await a.requestAddress({ poolId, address: '', gateway: false, mac: `02:42:00:00:00:0${i}` });
      a.releaseAddress(poolId, '10.40.0.3');
      const b = fresh(store);
      expect(b.status()).toEqual(a.status());
      expect((await b.requestAddress({ poolId, address: '', gateway: false })).address).toBe('10.40.0.7/24');
      expect(await acode(() => b.requestAddress({ poolId, address: '10.40.0.2', gateway: false }))).toBe('InUse');
      expect(b.allocations().find((x) => x.allocation.mac === '02:42:00:00:00:00')?.allocation.kind).toBe('endpoint');
      store.close();
    });
  });

  test('a failed store write leaves the address free', async () => {
    const store = new MemoryStore<IpamCollections>();
    const ipam = fresh(store);
    const { poolId } = ipam.requestPool({ pool: '10.40.0.0/24', subPool: '', v6: false });
    const put = store.put.bind(store);
    store.put = () => {
      throw new Error('disk full');
    };
    await expect(ipam.requestAddress({ poolId, address: '10.40.0.9', gateway: false })).rejects.toThrow('disk full');
    store.put = put;
    expect((await ipam.requestAddress({ poolId, address: '10.40.0.9', gateway: false })).address).toBe('10.40.0.9/24');
  });
});
