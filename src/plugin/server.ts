/**
 * HTTP on the plugin's Unix socket. Docker POSTs JSON without a Content-Type
 * (and sends an empty body when there are no arguments), so the body is read raw
 * and parsed here. Every reply is JSON; errors carry both `Err` and `Error`.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { BadRequest, errorReply, isUserError, messageOf } from './errors';
import type { Route } from './routes';
import { describeIssues } from './schemas';

export const CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';
/** Docker's requests are a few KiB; anything near this is not Docker */
export const MAX_BODY = '1mb';

export interface CallObserver {
  (method: string, ms: number, error?: string): void;
}

export function pluginApp(table: Map<string, Route>, log: Logger, observe?: CallObserver): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.raw({ type: () => true, limit: MAX_BODY }));

  app.post('*', async (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    const method = req.path;
    const r = table.get(method);
    const reply = (status: number, body: object, err?: unknown) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const error = err === undefined ? undefined : messageOf(err);
      const line = { call: method, ms: Math.round(ms * 1000) / 1000, ...(error ? { error } : {}) };
      if (err !== undefined && !isUserError(err)) log.error({ ...line, err }, 'plugin call failed');
      else log.info(line, 'plugin call');
      observe?.(method, ms, error);
      res.status(status).type(CONTENT_TYPE).send(JSON.stringify(body));
    };
    if (!r) return reply(404, errorReply(`weft: unknown plugin method ${method}`), new BadRequest(`unknown method ${method}`));
    let body: unknown;
    try {
      body = parseBody(req.body);
    } catch (e) {
      return reply(400, errorReply(messageOf(e)), e);
    }
    const parsed = r.schema.safeParse(body);
    if (!parsed.success) {
      const e = new BadRequest(`weft: bad ${method.slice(1)} request: ${describeIssues(parsed.error)}`);
      return reply(200, errorReply(e.message), e);
    }
    try {
      reply(200, await r.handle(parsed.data));
    } catch (e) {
      reply(200, errorReply(messageOf(e)), e);
    }
  });

  app.all('*', (req: Request, res: Response) => {
    res.status(405).type(CONTENT_TYPE).send(JSON.stringify(errorReply(`weft: ${req.method} not allowed; plugin calls are POST`)));
  });

  // body-parser failures (oversized, aborted) arrive here
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
    const msg = err.type === 'entity.too.large' ? `weft: request body larger than ${MAX_BODY}` : `weft: bad request: ${err.message}`;
    log.info({ error: msg }, 'plugin request refused');
    res.status(status).type(CONTENT_TYPE).send(JSON.stringify(errorReply(msg)));
  });
  return app;
}

function parseBody(raw: unknown): unknown {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new BadRequest(`weft: request body is not JSON: ${(e as Error).message}`);
  }
}

/** Listens on a Unix socket, replacing a stale socket file (the caller made sure no weft owns it). */
export async function listenUnix(app: express.Express, socketPath: string): Promise<Server> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  try {
    fs.unlinkSync(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return new Promise((resolve, reject) => {
    const server = app.listen(socketPath, () => resolve(server));
    server.once('error', reject);
  });
}
