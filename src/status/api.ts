/**
 * The daemon's local HTTP API on a loopback TCP port: GET /status is what
 * `weft status` prints, GET /metrics is for Prometheus; the CLI's run-time commands (connect, forget, rmpeer)
 * come through here too. Handlers only delegate; errors are one line of JSON.
 */
import express, { type Request, type Response } from 'express';
import type { Server } from 'node:http';

export interface ApiHandlers {
  status(): object;
  /** Prometheus text exposition */
  metrics(): Promise<{ contentType: string; text: string }>;
  connect(addr: string): void;
  forget(addr: string): boolean;
  /** reclaims a dead peer's address space; throws ApiError when refused */
  rmpeer(peer: string): object;
  /** stops the daemon after answering; keep: leave its devices in the kernel */
  stop(keep: boolean): object;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function apiApp(h: ApiHandlers): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  const wrap = (fn: (req: Request) => object | Promise<object>) => async (req: Request, res: Response) => {
    try {
      res.json(await fn(req));
    } catch (e) {
      res.status(e instanceof ApiError ? e.status : 500).json({ error: (e as Error).message });
    }
  };
  app.get('/status', wrap(() => h.status()));
  app.get('/metrics', async (_req: Request, res: Response) => {
    try {
      const m = await h.metrics();
      res.type(m.contentType).send(m.text);
    } catch (e) {
      res.status(500).type('text/plain').send(`weft: metrics failed: ${(e as Error).message}\n`);
    }
  });
  app.post('/peers', wrap((req) => {
    const addr = (req.body as { addr?: unknown }).addr;
    if (typeof addr !== 'string') throw new ApiError(400, 'body must be {"addr": "ip[:port]"}');
    badInput(() => h.connect(addr));
    return { connected: addr };
  }));
  app.delete('/peers/:addr', wrap((req) => {
    const addr = String(req.params.addr);
    if (!badInput(() => h.forget(addr))) throw new ApiError(404, `weft was not told to connect to ${addr}`);
    return { forgotten: addr };
  }));
  app.post('/rmpeer', wrap((req) => {
    const peer = (req.body as { peer?: unknown }).peer;
    if (typeof peer !== 'string') throw new ApiError(400, 'body must be {"peer": "id or nickname"}');
    return h.rmpeer(peer);
  }));
  app.post('/stop', wrap((req) => {
    const keep = (req.body as { keep?: unknown }).keep;
    if (keep !== undefined && typeof keep !== 'boolean') throw new ApiError(400, 'body must be {"keep": true|false}');
    return h.stop(keep === true);
  }));
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found; try GET /status or GET /metrics' });
  });
  return app;
}

/** the run-time commands fail only on bad input: say so with a 400 */
function badInput<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new ApiError(400, (e as Error).message);
  }
}

export function listenApi(addr: { host: string; port: number }, h: ApiHandlers): Promise<Server> {
  const app = apiApp(h);
  return new Promise((resolve, reject) => {
    const server = app.listen(addr.port, addr.host, () => resolve(server));
    server.once('error', reject);
  });
}
