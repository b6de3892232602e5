/** Tiny HTTP clients the CLI uses: the plugin socket (is it up?) and the status API. */
import * as http from 'node:http';
import { CliError } from './errors';

export function postUnix(socketPath: string, method: string, body: object, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = http.request(
      { socketPath, method: 'POST', path: method, headers: { 'Content-Length': payload.length }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function pluginAnswers(socketPath: string): Promise<boolean> {
  try {
    const r = await postUnix(socketPath, '/Plugin.Activate', {});
    return r.status === 200 && r.body.includes('NetworkDriver');
  } catch {
    return false;
  }
}

export function getStatus(addr: { host: string; port: number }, timeoutMs = 3000): Promise<Record<string, unknown>> {
  return apiCall(addr, 'GET', '/status', undefined, timeoutMs) as Promise<Record<string, unknown>>;
}

/** a call on the daemon's API; a non-2xx answer becomes a CliError with the daemon's message */
export function apiCall(addr: { host: string; port: number }, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { host: addr.host, port: addr.port, method, path, timeout: timeoutMs, headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch (e) {
            return reject(new CliError(`weft answered ${method} ${path} with something that is not JSON`));
          }
          if ((res.statusCode ?? 500) >= 300) return reject(new CliError(`weft: ${(json as { error?: string }).error ?? `HTTP ${res.statusCode}`}`));
          resolve(json);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => reject(new CliError(`weft is not running (no answer from ${addr.host}:${addr.port}: ${e.message})`)));
    req.end(payload);
  });
}
