// How the HTTP API answers an error: a kernel errno as an HTTP status and a JSON body naming the
// errno, and the server's own refusals (bad parameter, no such area, read-only source…).

import type { FastifyReply } from 'fastify';
import type { ErrnoName } from '../../core/errno.ts';
import { ERRNO, STRERROR } from '../../core/errno.ts';
import type { ErrnoErrorBody } from './views.ts';

/** HTTP status for a kernel errno. */
export function httpStatusForErrno(errno: ErrnoName): number {
  switch (errno) {
    case 'EINVAL':
    case 'ERANGE':
    case 'EBADF':
    case 'EFAULT':
    case 'ESPIPE':
    case 'ENOTDIR':
    case 'ESRCH': // a tracefs filter with a quote left open
    case 'EOVERFLOW': // a tracing_cpumask past the CPUs
      return 400;
    case 'EACCES':
    case 'EPERM':
      return 403;
    case 'ENOENT':
      return 404;
    case 'EISDIR':
      return 405;
    case 'EBUSY':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return 409;
    case 'ENOMEM':
      return 507;
    case 'EINTR':
    case 'EAGAIN': // trace_pipe with nothing to read
      return 503;
    case 'EIO':
      return 500;
  }
}

/** The JSON body of a kernel error. */
export function errnoBody(
  errno: ErrnoName,
  op: 'read' | 'write' | 'open' | 'list',
  path: string,
): ErrnoErrorBody {
  return {
    ok: false,
    path,
    errno,
    code: ERRNO[errno],
    message: STRERROR[errno],
    error: `${op} error: ${STRERROR[errno]}`,
  };
}

/** A client error that is not the kernel's: status, short code, message. */
export function clientError(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).send({ ok: false, error, message });
}
