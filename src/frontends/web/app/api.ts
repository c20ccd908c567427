// The dashboard's side of the HTTP API: the response types (imported from the server's own view
// types, so the two cannot drift), the token, JSON reads and debugfs-style writes.

import type {
  AnalysesView,
  ApiErrorView,
  AreasView,
  AreaView,
  DeviceView,
  ErrnoErrorBody,
  ExplainView,
  InfoView,
  LogView,
  RecordsView,
  TraceView,
  WriteView,
} from '../../http/views.ts';
import { fmt, hex } from './dom.ts';

export type {
  AnalysisView,
  BusyView,
  ChangeEvent,
  DeviceAreaView,
  DeviceFailureView,
  FreeRunView,
  ProvenanceView,
} from '../../http/views.ts';
export type { AreaView, DeviceView, ExplainView, InfoView };
/** A debugfs allocation record (what `free` releases). */
export type RecordView = RecordsView['records'][number];

const TOKEN_KEY = 'cma-debug-token';

/** Takes `#token=…` from the URL into the session, and keeps the token box and cookie in step. */
export function initToken(input: HTMLInputElement): void {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  input.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  setTokenCookie();
  input.addEventListener('change', () => {
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    setTokenCookie();
  });
}
/** A server bound beyond loopback wants the token for reads too: fetch and EventSource send it as a cookie. */
function setTokenCookie(): void {
  // biome-ignore lint/suspicious/noDocumentCookie: EventSource cannot send headers; a SameSite cookie carries the token
  document.cookie = `${TOKEN_KEY}=${encodeURIComponent(sessionStorage.getItem(TOKEN_KEY) ?? '')}; path=/; SameSite=Strict`;
}
const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

/** What a write answered, as one line to show. */
export interface WriteAnswer {
  ok: boolean;
  line: string;
}

/** Writes `text` to a /sys file as `echo` would; resolves to the line to show. */
export async function writeSys(path: string, text: string): Promise<WriteAnswer> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'text/plain' },
      body: text,
    });
  } catch (e) {
    return { ok: false, line: `request failed: ${(e as Error).message}` };
  }
  const body = (await res.json().catch(() => ({}))) as Partial<WriteView> & Partial<ErrnoErrorBody>;
  const cmd = `echo ${text.trim()} > ${path.split('/').pop()}`;
  if (res.ok && body.ok) {
    const a = body.allocated;
    return {
      ok: true,
      line: a ? `${cmd}: ok — ${fmt(a.count)} pages at pfn ${a.pfn} (${hex(a.pfn)})` : `${cmd}: ok`,
    };
  }
  if (body.errno) return { ok: false, line: `${cmd}: ${body.error} (${body.errno}, HTTP ${res.status})` };
  if (res.status === 401)
    return { ok: false, line: `${cmd}: refused — enter the token printed by cma-debug serve` };
  return { ok: false, line: `${cmd}: ${body.message ?? res.statusText} (HTTP ${res.status})` };
}

/** GET a JSON document (never cached). */
async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

const areaUrl = (name: string) => `/api/areas/${encodeURIComponent(name)}`;

export const api = {
  info: () => getJson<InfoView>('/api/info'),
  areas: () => getJson<AreasView>('/api/areas'),
  area: (name: string) => getJson<AreaView>(areaUrl(name)),
  records: (name: string) => getJson<RecordsView>(`${areaUrl(name)}/records`),
  analysis: (name: string, top: number) =>
    getJson<AnalysesView>(`/api/analysis?area=${encodeURIComponent(name)}&top=${top}`),
  trace: (limit: number) => getJson<TraceView>(`/api/trace?limit=${limit}`),
  log: () => getJson<LogView>('/api/log'),
  device: () => getJson<DeviceView>('/api/device'),
  /** Would `pages` fit (alignment order `align`)? Resolves with the HTTP status and the answer. */
  async explain(
    name: string,
    pages: string,
    align: string,
  ): Promise<{ ok: true; view: ExplainView } | { ok: false; view: ApiErrorView }> {
    const r = await fetch(
      `/api/explain?area=${encodeURIComponent(name)}&pages=${encodeURIComponent(pages)}&align=${encodeURIComponent(align)}`,
    );
    return r.ok
      ? { ok: true, view: (await r.json()) as ExplainView }
      : { ok: false, view: (await r.json()) as ApiErrorView };
  },
  /** Fill of bits [from, to) of a range in buckets of `per` bits (0 clear … 255 set), or null. */
  async buckets(
    name: string,
    range: number,
    from: number,
    to: number,
    per: number,
  ): Promise<Uint8Array | null> {
    const r = await fetch(`${areaUrl(name)}/ranges/${range}/buckets?from=${from}&to=${to}&per=${per}`, {
      cache: 'no-store',
    });
    return r.ok ? new Uint8Array(await r.arrayBuffer()) : null;
  },
};
