/** Many meshes on one MemoryNetwork and fake time: the harness for protocol simulations. */
import { deriveKey, Opener, Sealer } from '../../../src/mesh/crypto';
import { seededRandom } from '../../../src/mesh/link';
import { DEFAULT_MESH_TIMES, Mesh, type MeshCrypto } from '../../../src/mesh/router';
import { MemoryNetwork, type MemoryNetworkOptions } from '../../../src/mesh/transport/memory';
import { FakeScheduler } from '../../../src/util/scheduler';

export const addrOf = (i: number) => `10.0.${(i >> 8) & 255}.${(i & 255) + 1}:6783`;
export const idOf = (i: number) => (i + 1).toString(16).padStart(16, '0');

const keys = new Map<string, Buffer>();
export function cryptoFor(password: string, id: string): MeshCrypto {
  let key = keys.get(password);
  if (!key) keys.set(password, (key = deriveKey(password)));
  return { sealer: new Sealer(key, id), opener: new Opener(key) };
}

export interface Sim {
  scheduler: FakeScheduler;
  net: MemoryNetwork;
  meshes: Mesh[];
  add(i: number, password?: string): Mesh;
  run(ms: number, step?: number): void;
}

export function simulate(netOptions: MemoryNetworkOptions = {}, times: Partial<typeof DEFAULT_MESH_TIMES> = {}): Sim {
  const scheduler = new FakeScheduler(0);
  const net = new MemoryNetwork(scheduler, { latencyMs: 1, jitterMs: 2, seed: 7, ...netOptions });
  const meshes: Mesh[] = [];
  return {
    scheduler,
    net,
    meshes,
    add(i, password) {
      const m = new Mesh(idOf(i), net.transport(addrOf(i)), scheduler, { nickname: `p${i}`, advertise: addrOf(i), ...DEFAULT_MESH_TIMES, ...times }, password ? cryptoFor(password, idOf(i)) : undefined, seededRandom(i + 1));
      meshes[i] = m;
      m.start();
      return m;
    },
    run(ms, step = 50) {
      for (let t = 0; t < ms; t += step) scheduler.advance(step);
    },
  };
}
