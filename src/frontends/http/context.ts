// What every route module of the server shares, passed explicitly: the source, the event hub, the
// token check and the guards a route runs before it answers (may this request change state? is
// there a modelled system? does the source have a log / trace?).

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CmaSystem } from '../../core/system.ts';
import type { ServeSource } from '../../sources/file-tree.ts';
import { clientError } from './errors.ts';
import type { EventHub } from './events.ts';

/** The shared state and guards of the routes. */
export interface RouteContext {
  readonly source: ServeSource;
  /** Change events of the modelled system (null when only files are served). */
  readonly hub: EventHub | null;
  /** True when the request carries the bearer token in its Authorization header. */
  authorized(req: FastifyRequest): boolean;
  /** True when the request carries the token in the dashboard's `cma-debug-token` cookie. */
  cookieToken(req: FastifyRequest): boolean;
  /** Checks that a state change is allowed; sends the refusal and returns false otherwise. */
  mayChange(req: FastifyRequest, reply: FastifyReply): boolean;
  /** The modelled system, or null after sending 501 (a source of files only). */
  needSystem(reply: FastifyReply): CmaSystem | null;
  /** The modelled system when the source has a kernel log / trace buffer, else null after 501. */
  needFeature(reply: FastifyReply, f: 'log' | 'trace'): CmaSystem | null;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The context of a server over `source` whose state changes need `token`. */
export function routeContext(source: ServeSource, hub: EventHub | null, token: string): RouteContext {
  const tokenDigest = digest(token);
  const authorized = (req: FastifyRequest): boolean => {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) return false;
    return timingSafeEqual(digest(m[1]!), tokenDigest);
  };
  const cookieToken = (req: FastifyRequest): boolean => {
    const m = /(?:^|;\s*)cma-debug-token=([^;]*)/.exec(req.headers.cookie ?? '');
    if (!m?.[1]) return false;
    let t: string;
    try {
      t = decodeURIComponent(m[1]);
    } catch {
      return false;
    }
    return timingSafeEqual(digest(t), tokenDigest);
  };
  const needSystem = (reply: FastifyReply): CmaSystem | null => {
    if (source.system) return source.system;
    void clientError(
      reply,
      501,
      'NOT_AVAILABLE',
      source.deviceTree
        ? `not available for this source (${source.kind}): no debugfs, so no bitmaps; GET /api/device tells what sysfs, /proc and the kernel log say`
        : `not available for this source (${source.kind}) in this build: only the /sys files are served`,
    );
    return null;
  };
  return {
    source,
    hub,
    authorized,
    cookieToken,
    mayChange(req, reply) {
      // a capture is never writable, whoever asks: say so before asking for the token
      if (source.readOnlyReason !== undefined) {
        reply.header('allow', 'GET, HEAD');
        void clientError(reply, 405, 'READ_ONLY', source.readOnlyReason);
        return false;
      }
      if (!authorized(req)) {
        void reply.code(401).header('www-authenticate', 'Bearer realm="cma-debug"').send({
          ok: false,
          error: 'UNAUTHORIZED',
          message: 'changing state needs the header Authorization: Bearer <token> (printed at start)',
        });
        return false;
      }
      if (!source.writable) {
        void clientError(reply, 403, 'READ_ONLY', 'this source is read-only (serve --allow-write to change)');
        return false;
      }
      return true;
    },
    needSystem,
    needFeature(reply, f) {
      if (source.features && !source.features[f]) {
        void clientError(
          reply,
          501,
          'NOT_AVAILABLE',
          `no ${f === 'log' ? 'kernel log' : 'trace buffer'} for this source (${source.kind}); read the files under /sys instead`,
        );
        return null;
      }
      return needSystem(reply);
    },
  };
}
