// The dashboard in the browser: plain TypeScript and the DOM, bundled by esbuild into /app.js.
// It reads the JSON API, shows one card per area (area-card.ts) and follows /api/events so
// every change shows up live. The response types come from the server (api.ts).

import type { ChangeEvent, InfoView } from './api.ts';
import { api, initToken, writeSys } from './api.ts';
import { AreaCard } from './area-card.ts';
import { showDevice } from './device-view.ts';
import { $ } from './dom.ts';
import { appendLines } from './streams.ts';

const cards = new Map<string, AreaCard>();
/** The emulator without debugfs: the device report, read again after every change. */
let deviceLive = false;
let traceOn = false;
const TRACE_POLL_MS = 2000;

async function loadAll(): Promise<void> {
  const info = await api.info();
  // (a label that already says "read-only" is not told twice)
  $('#source').textContent =
    `${info.source.label}${info.writable || /read-only/.test(info.source.label) ? '' : ' · read-only'}`;
  document.body.dataset.writable = String(info.writable);
  if (!info.modelled) {
    // a read-only device report has nothing to write: no token to ask for (a link's #token still counts)
    if (!info.writable) $('#token').closest('label')?.setAttribute('hidden', '');
    const device = info.device ? await api.device() : null;
    if (device) showDevice($('#areas'), device);
    else $('#areas').textContent = 'This source serves its /sys files only (no area model could be read).';
    // a device report has no trace buffer to show or record into: its card is left out
    $('#trace').textContent = 'No trace buffer for this source.';
    $('#trace').closest('section')?.setAttribute('hidden', '');
    if (device && device.logLines.length > 0) {
      const caption = $('#log').parentElement?.querySelector('h2 small');
      if (caption) caption.textContent = 'dmesg: its CMA lines, as read (line numbers of the log)';
      $('#log').textContent = '';
      appendLines(
        $('#log'),
        device.logLines.map((l) => `${String(l.line).padStart(6)}  ${l.text}`),
      );
    } else $('#log').textContent = 'No kernel log stream for this source.';
    $<HTMLInputElement>('#trace-enable').disabled = true;
    return;
  }
  deviceLive = info.device && !info.debugfs;
  if (deviceLive) {
    // debugfs unmounted (serve --no-debugfs): what a production kernel's files tell, live
    $('#source').textContent += ' · debugfs not mounted';
    showDevice($('#areas'), await api.device());
  } else await loadCards(info.writable);
  await loadStreams(info);
}

/** One card per area of the modelled system. */
async function loadCards(writable: boolean): Promise<void> {
  const sys = await api.areas();
  const box = $('#areas');
  for (const v of sys.areas) {
    let card = cards.get(v.name);
    if (!card) {
      card = new AreaCard(v, writable);
      cards.set(v.name, card);
      box.append(card.root);
    }
    void card.refresh(false);
  }
  if (sys.areas.length === 0) box.textContent = 'This kernel has no CMA areas.';
}

/** The trace events and the kernel log of the modelled system, as far as the source has them. */
async function loadStreams(info: InfoView): Promise<void> {
  const tpre = $('#trace');
  const cb = $<HTMLInputElement>('#trace-enable');
  tpre.textContent = '';
  if (info.features.trace) {
    const trace = await api.trace(200);
    setTraceBox(trace.enabled.length > 0);
    cb.disabled = !info.writable;
    if (!info.writable) cb.title = 'read-only source';
    appendLines(tpre, trace.lines);
  } else {
    tpre.textContent = 'No trace buffer for this source.';
    cb.disabled = true;
  }
  const lpre = $('#log');
  lpre.textContent = '';
  if (info.features.log) {
    const log = await api.log();
    appendLines(
      lpre,
      log.records.slice(-200).map((r) => r.text),
    );
  } else lpre.textContent = 'No kernel log for this source.';
}

/** Reads the device report again (one request at a time; a change during it reads once more). */
let deviceReading: Promise<void> | null = null;
let deviceAgain = false;
async function refreshDevice(): Promise<void> {
  if (deviceReading) {
    deviceAgain = true;
    return;
  }
  deviceReading = (async () => {
    do {
      deviceAgain = false;
      try {
        showDevice($('#areas'), await api.device());
      } catch {
        // the next change reads again
      }
    } while (deviceAgain);
  })();
  await deviceReading;
  deviceReading = null;
}

function setTraceBox(on: boolean): void {
  traceOn = on;
  $<HTMLInputElement>('#trace-enable').checked = on;
}

/**
 * The events box follows what the kernel has enabled: a shell on the mount may write
 * events/cma/enable, which is no change of an area, so it is read again after every change and
 * every few seconds.
 */
let syncing = false;
async function syncTraceBox(): Promise<void> {
  if (syncing || $<HTMLInputElement>('#trace-enable').disabled) return;
  syncing = true;
  try {
    const t = await api.trace(0);
    setTraceBox(t.enabled.length > 0);
  } catch {
    // the next change tries again
  } finally {
    syncing = false;
  }
}

function connect(): void {
  const dot = $('#live-dot');
  const text = $('#live-text');
  const es = new EventSource('/api/events');
  es.addEventListener('hello', () => {
    dot.className = 'dot live';
    text.textContent = 'live';
    void loadAll();
  });
  es.addEventListener('change', (ev) => {
    const c = JSON.parse((ev as MessageEvent<string>).data) as ChangeEvent;
    if (deviceLive) void refreshDevice();
    else for (const a of c.areas) void cards.get(a)?.refresh();
    appendLines($('#trace'), c.trace, c.traceDropped);
    // events arriving means someone (a shell on the mount) enabled them: the box says so
    if (c.trace.length > 0 && !traceOn) setTraceBox(true);
    else void syncTraceBox();
    appendLines($('#log'), c.log, c.logDropped);
    document.body.dataset.version = String(c.version);
  });
  es.addEventListener('error', () => {
    dot.className = 'dot down';
    text.textContent = 'reconnecting…';
  });
}

function main(): void {
  initToken($<HTMLInputElement>('#token'));
  const cb = $<HTMLInputElement>('#trace-enable');
  cb.addEventListener('change', async () => {
    const r = await writeSys('/sys/kernel/tracing/events/cma/enable', cb.checked ? '1\n' : '0\n');
    const out = $('#trace-answer');
    out.textContent = r.ok ? '' : r.line;
    out.className = `answer ${r.ok ? 'ok' : 'err'}`;
    if (r.ok) traceOn = cb.checked;
    else cb.checked = !cb.checked;
  });
  // a source without a model (a device without debugfs) has no event stream: it is read once
  void api.info().then(
    (info) => {
      if (info.modelled) return connect();
      $('#live-text').textContent = 'read once (no live stream)';
      return loadAll();
    },
    () => connect(),
  );
  setInterval(() => {
    if (!document.hidden) void syncTraceBox();
  }, TRACE_POLL_MS);
}

main();
