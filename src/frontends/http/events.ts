// Server-sent events: every change of the system (from the API, a FUSE mount, a driver-style
// cma_alloc…) reaches the open streams as one coalesced `change` event per interval.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CmaSystem } from '../../core/system.ts';
import { formatTraceLine } from '../../core/trace.ts';
import type { ChangeEvent } from './views.ts';

const MAX_LINES = 500;
/** A client that lets this much pile up unread is dropped. */
const MAX_BACKLOG = 4 << 20;
const HEARTBEAT_MS = 15_000;

/** Fans the system's changes out to SSE clients. */
export class EventHub {
  version = 0;
  private readonly clients = new Set<ServerResponse>();
  private pendingAreas = new Set<string>();
  private trace: string[] = [];
  private traceDropped = 0;
  private log: string[] = [];
  private logDropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = 0;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    sys: CmaSystem,
    private readonly intervalMs: number,
  ) {
    this.unsubscribe.push(
      sys.subscribe((c) => {
        if (c.kind === 'area' && c.area !== undefined) {
          this.pendingAreas.add(c.area);
          this.schedule();
        }
      }),
      sys.tracing.subscribe((e) => {
        if (this.clients.size === 0) return;
        if (this.trace.length < MAX_LINES) this.trace.push(formatTraceLine(e));
        else this.traceDropped++;
        this.schedule();
      }),
      sys.kernelLog.subscribe((r) => {
        if (this.clients.size === 0) return;
        if (this.log.length < MAX_LINES) this.log.push(r.text);
        else this.logDropped++;
        this.schedule();
      }),
    );
    this.heartbeat = setInterval(() => this.broadcast(': ping\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Streams to a new client until it goes away. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ version: this.version })}\n\n`);
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
  }

  /** Open streams. */
  get size(): number {
    return this.clients.size;
  }

  private schedule(): void {
    if (this.timer || this.clients.size === 0) {
      if (this.clients.size === 0) this.reset();
      return;
    }
    const wait = Math.max(0, this.lastFlush + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
    this.timer.unref();
  }

  private reset(): void {
    this.pendingAreas.clear();
    this.trace = [];
    this.log = [];
    this.traceDropped = 0;
    this.logDropped = 0;
  }

  private flush(): void {
    this.timer = null;
    this.lastFlush = Date.now();
    this.version++;
    const ev: ChangeEvent = {
      version: this.version,
      areas: [...this.pendingAreas].sort(),
      trace: this.trace,
      traceDropped: this.traceDropped,
      log: this.log,
      logDropped: this.logDropped,
    };
    this.reset();
    this.broadcast(`id: ${ev.version}\nevent: change\ndata: ${JSON.stringify(ev)}\n\n`);
  }

  private broadcast(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BACKLOG) {
        res.destroy();
        this.clients.delete(res);
        continue;
      }
      res.write(text);
    }
  }

  /** Ends every stream and stops listening to the system. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    for (const u of this.unsubscribe) u();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
