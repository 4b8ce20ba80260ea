// The recordings API on the streamer's HTTP port, authenticated with an app token (Authorization: Bearer):
//   GET  /v1/recordings          list + recorder status
//   GET  /v1/recordings/:name    download one file (a file still being written is served up to its last chunk)
//   POST /v1/recordings/start    start an on-demand recording
//   POST /v1/recordings/stop     stop it
// Errors are `{error: code, message}` with a typed code. CORS is open: the console runs on another origin and the
// token travels in a header, never a cookie.
import { createReadStream } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { verifyAppAccess, type AppClaims } from '@robostream/protocol/auth';
import { mayUseRecordings, type RecordingAction } from './recording-access.js';
import { RecorderStateError, type Recorder } from './recorder.js';
import { RecordingNameError, RecordingNotFoundError } from './recording-store.js';

export interface RecordingRoutesOptions {
  recorder: Recorder;
  robotId: string;
  appPublicKey: KeyObject;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-expose-headers': 'content-disposition, content-length',
};

function fail(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).headers(CORS).send({ error, message });
}

export function registerRecordingRoutes(app: FastifyInstance, o: RecordingRoutesOptions): void {
  const authorize = async (
    req: FastifyRequest,
    reply: FastifyReply,
    action: RecordingAction,
  ): Promise<AppClaims | null> => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (\S+)$/.exec(header);
    if (!m?.[1]) {
      fail(reply, 401, 'unauthenticated', 'send an app token: Authorization: Bearer <token>');
      return null;
    }
    const access = await verifyAppAccess(m[1], o.appPublicKey, o.robotId);
    if (!access.ok) {
      fail(reply, access.code === 'forbidden' ? 403 : 401, access.code, access.message);
      return null;
    }
    const may = mayUseRecordings(access.claims, o.robotId, action);
    if (!may.ok) {
      fail(reply, 403, may.code, may.message);
      return null;
    }
    return access.claims;
  };

  app.options('/v1/recordings', async (_req, reply) => reply.code(204).headers(CORS).send());
  app.options('/v1/recordings/*', async (_req, reply) => reply.code(204).headers(CORS).send());

  app.get('/v1/recordings', async (req, reply) => {
    if (!(await authorize(req, reply, 'list'))) return reply;
    const recordings = await o.recorder.list();
    return reply.headers(CORS).send({ recordings, status: o.recorder.status() });
  });

  app.get<{ Params: { name: string } }>('/v1/recordings/:name', async (req, reply) => {
    if (!(await authorize(req, reply, 'download'))) return reply;
    try {
      const { path, file } = await o.recorder.store.find(req.params.name);
      return reply
        .headers(CORS)
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename="${file.name}"`)
        .send(createReadStream(path));
    } catch (err) {
      if (err instanceof RecordingNameError) return fail(reply, 400, err.code, err.message);
      if (err instanceof RecordingNotFoundError) return fail(reply, 404, err.code, err.message);
      throw err;
    }
  });

  app.post('/v1/recordings/start', async (req, reply) => {
    const claims = await authorize(req, reply, 'record');
    if (!claims) return reply;
    try {
      o.recorder.startRecording(claims.sub);
      return reply.headers(CORS).send({ status: o.recorder.status() });
    } catch (err) {
      if (err instanceof RecorderStateError) return fail(reply, 409, err.code, err.message);
      throw err;
    }
  });

  app.post('/v1/recordings/stop', async (req, reply) => {
    const claims = await authorize(req, reply, 'record');
    if (!claims) return reply;
    try {
      const { files } = await o.recorder.stopRecording(claims.sub);
      return reply.headers(CORS).send({ files, status: o.recorder.status() });
    } catch (err) {
      if (err instanceof RecorderStateError) return fail(reply, 409, err.code, err.message);
      throw err;
    }
  });
}
