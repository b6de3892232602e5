/**
 * The few Docker Engine API calls weft needs. Never await one inside a plugin
 * call: dockerd may be waiting on that very call (its start, network create).
 */
import * as http from 'node:http';

/** the driver option a network's MTU travels in: `docker network create -o com.docker.network.driver.mtu=…` */
export const MTU_OPTION = 'com.docker.network.driver.mtu';
/** the driver option that makes a routed network (model.ts NetworkMode): `-o weft.mode=routed` */
export const MODE_OPTION = 'weft.mode';

export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Internal?: boolean;
  Options?: Record<string, string> | null;
  IPAM: { Driver: string; Config: Array<{ Subnet?: string; IPRange?: string; Gateway?: string }> | null };
  Containers?: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string }> | null;
}

export interface CreateNetworkSpec {
  Name: string;
  Driver: string;
  IPAM: { Driver: string; Config: Array<{ Subnet: string; IPRange?: string; Gateway?: string }> };
  CheckDuplicate: boolean;
  Internal?: boolean;
  Options?: Record<string, string>;
}

export class DockerApiError extends Error {
  override readonly name = 'DockerApiError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** where to reach the engine: DOCKER_HOST (unix:// or tcp://) or /var/run/docker.sock */
export function dockerEndpoint(dockerHost: string | undefined): { socketPath: string } | { host: string; port: number } {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(dockerHost);
  if (m) return { host: m[1], port: Number(m[2]) };
  throw new Error(`unsupported DOCKER_HOST ${JSON.stringify(dockerHost)} (unix:///path or tcp://host:port)`);
}

export class DockerClient {
  constructor(
    private readonly endpoint: { socketPath: string } | { host: string; port: number },
    private readonly timeoutMs = 10_000,
  ) {}

  async ping(): Promise<boolean> {
    try {
      await this.call('GET', '/_ping');
      return true;
    } catch {
      return false;
    }
  }

  async networks(): Promise<DockerNetwork[]> {
    return (await this.call('GET', '/networks')) as DockerNetwork[];
  }

  /** undefined when Docker has no such network */
  async network(idOrName: string): Promise<DockerNetwork | undefined> {
    try {
      return (await this.call('GET', `/networks/${encodeURIComponent(idOrName)}`)) as DockerNetwork;
    } catch (e) {
      if (e instanceof DockerApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async createNetwork(spec: CreateNetworkSpec): Promise<string> {
    const r = (await this.call('POST', '/networks/create', spec)) as { Id: string };
    return r.Id;
  }

  async removeNetwork(idOrName: string): Promise<void> {
    await this.call('DELETE', `/networks/${encodeURIComponent(idOrName)}`);
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          ...this.endpoint,
          method,
          path: `/v1.41${path}`,
          headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve(text === '' || text === 'OK' ? {} : (JSON.parse(text) as unknown));
              } catch {
                resolve(text);
              }
              return;
            }
            let msg = text.trim();
            try {
              msg = (JSON.parse(text) as { message?: string }).message ?? msg;
            } catch {
              /* plain text */
            }
            reject(new DockerApiError(status, `docker ${method} ${path}: ${status} ${msg}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`docker ${method} ${path}: no answer in ${this.timeoutMs} ms`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }
}
