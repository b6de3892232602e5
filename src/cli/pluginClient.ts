/** Tiny HTTP clients the CLI uses: the plugin socket (is it up?) and the status API. */
import * as http from 'node:http';

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
  return new Promise((resolve, reject) => {
    const req = http.get({ host: addr.host, port: addr.port, path: '/status', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}
