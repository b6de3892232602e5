/** The status API on a loopback TCP port: GET /status is what `weft status` prints. */
import express from 'express';
import type { Server } from 'node:http';

export function listenStatus(addr: { host: string; port: number }, status: () => object): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/status', (_req, res) => {
    res.json(status());
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found; try GET /status' });
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(addr.port, addr.host, () => resolve(server));
    server.once('error', reject);
  });
}
