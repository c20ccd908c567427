// GET/HEAD/PUT/POST /sys/<path>: the served tree byte for byte (a directory as a JSON listing) and
// one write of the request body, as `echo TEXT > FILE` does.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteContext } from '../context.ts';
import { clientError, errnoBody, httpStatusForErrno } from '../errors.ts';
import type { DirEntryView, DirListingView, WriteView } from '../views.ts';

const PATH_COMPONENT_MAX = 255;
const PATH_MAX = 4096;

/**
 * Splits the path of a request URL below /sys into components: percent-decoded, no empty, `.`
 * or `..` components, no NUL or `/` inside one. A string is the reason it is refused.
 */
export function parseSysUrl(url: string): string[] | string {
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  if (raw.length > PATH_MAX) return 'path too long';
  if (!(raw === '/sys' || raw.startsWith('/sys/'))) return 'not below /sys';
  const parts: string[] = [];
  for (const enc of raw.slice(5).split('/')) {
    if (enc === '') continue;
    let c: string;
    try {
      c = decodeURIComponent(enc);
    } catch {
      return `bad percent-encoding in '${enc.slice(0, 40)}'`;
    }
    if (c === '.' || c === '..') return 'a path may not contain . or .. (it would leave the tree)';
    if (c.includes('/') || c.includes('\0')) return 'a path component may not contain / or NUL';
    if (c.length > PATH_COMPONENT_MAX) return 'path component too long';
    parts.push(c);
  }
  return parts;
}

/** Registers the /sys routes. */
export function fileRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { source } = ctx;
  const read = async (reply: FastifyReply, path: string) => {
    const st = source.tree.stat(path, true);
    if (!st.ok) return reply.code(httpStatusForErrno(st.errno)).send(errnoBody(st.errno, 'read', path));
    if (st.stat.type === 'dir') {
      const ls = source.tree.readdir(path);
      if (!ls.ok) return reply.code(httpStatusForErrno(ls.errno)).send(errnoBody(ls.errno, 'list', path));
      const entries = ls.names.map((name): DirEntryView => {
        const p = `${path}/${name}`;
        const s = source.tree.stat(p, false);
        if (!s.ok) return { name, type: 'unknown' };
        const e: { -readonly [K in keyof DirEntryView]: DirEntryView[K] } = {
          name,
          type: s.stat.type,
          mode: `0${s.stat.mode.toString(8)}`,
          size: s.stat.size,
        };
        if (s.stat.type === 'symlink') {
          const l = source.tree.readlink(p);
          if (l.ok) e.target = l.target;
        }
        return e;
      });
      const listing: DirListingView = { path, type: 'dir', entries };
      return reply.send(listing);
    }
    const r = source.tree.readFileAsync ? await source.tree.readFileAsync(path) : source.tree.readFile(path);
    if (!r.ok && 'refused' in r) return clientError(reply, r.status, 'REFUSED', `${path}: ${r.refused}`);
    if (!r.ok) return reply.code(httpStatusForErrno(r.errno)).send(errnoBody(r.errno, 'read', path));
    return reply
      .type('text/plain; charset=utf-8')
      .send(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength));
  };

  const write = (req: FastifyRequest, reply: FastifyReply, parts: string[], path: string) => {
    if (!ctx.mayChange(req, reply)) return reply;
    const body = req.body;
    const data = Buffer.isBuffer(body) ? new Uint8Array(body) : new Uint8Array(0);
    const sys = source.system;
    const allocArea =
      sys && parts.length === 5 && parts.slice(0, 3).join('/') === 'kernel/debug/cma' && parts[4] === 'alloc'
        ? sys.area(parts[3]!)
        : undefined;
    const before = allocArea?.records.length ?? 0;
    const r = source.tree.writeFile(path, data);
    source.afterWrite?.();
    if (!r.ok && 'refused' in r) return clientError(reply, r.status, 'REFUSED', `${path}: ${r.refused}`);
    if (!r.ok) return reply.code(httpStatusForErrno(r.errno)).send(errnoBody(r.errno, 'write', path));
    const out: { -readonly [K in keyof WriteView]: WriteView[K] } = { ok: true, path, written: r.written };
    if (allocArea && allocArea.records.length > before) {
      const rec = allocArea.records[allocArea.records.length - 1]!;
      out.allocated = { pfn: rec.pfn, count: Number(rec.count) };
    }
    return reply.send(out);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const parts = parseSysUrl(req.url);
    if (typeof parts === 'string') return clientError(reply, 400, 'BAD_PATH', parts);
    const path = `/sys/${parts.join('/')}`;
    reply.header('cache-control', 'no-store');
    if (req.method === 'GET' || req.method === 'HEAD') return read(reply, path);
    return write(req, reply, parts, path);
  };
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST'], url: '/sys', handler });
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST'], url: '/sys/*', handler });
}
