/**
 * A plugin client as Docker is one: HTTP POST of JSON on a Unix socket, no
 * Content-Type, the plugin Accept header, keep-alive connections.
 */
import * as http from 'node:http';

export const PLUGIN_ACCEPT = 'application/vnd.docker.plugins.v1.2+json';

export interface PluginReply {
  status: number;
  body: Record<string, unknown>;
  /** the error a reply carries (Err for the network API, Error for IPAM), '' when none */
  error: string;
}

export class UnixHttpClient {
  private readonly agent: http.Agent;

  constructor(private readonly socketPath: string, maxSockets = 16) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  post(method: string, body: unknown): Promise<PluginReply> {
    const payload = Buffer.from(body === undefined ? '' : JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, agent: this.agent, method: 'POST', path: method, headers: { Accept: PLUGIN_ACCEPT, 'Content-Length': payload.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown>;
            try {
              parsed = JSON.parse(text) as Record<string, unknown>;
            } catch {
              return reject(new Error(`${method}: reply is not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
            }
            const err = typeof parsed.Err === 'string' && parsed.Err ? parsed.Err : typeof parsed.Error === 'string' ? parsed.Error : '';
            resolve({ status: res.statusCode ?? 0, body: parsed, error: res.statusCode === 200 ? err : err || `HTTP ${res.statusCode}` });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** like post, but a reply carrying an error rejects */
  async call(method: string, body: unknown): Promise<Record<string, unknown>> {
    const r = await this.post(method, body);
    if (r.error) throw new Error(`${method}: ${r.error}`);
    return r.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
