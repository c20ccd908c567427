// The dashboard's HTML page (with its style); the script is /app.js (see bundle.ts).

const CSS = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2733; --muted:#5d6b7a; --line:#d9dee5;
  --free:#7ccf8e; --full:#2b3a55; --accent:#d1495b; --ok:#2a7d4f; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { display:flex; gap:16px; align-items:center; padding:10px 18px; background:var(--full); color:#fff; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; letter-spacing:.5px; }
header .source { opacity:.85; }
header .spacer { flex:1; }
header input { font:inherit; padding:2px 6px; width:16em; }
.dot { display:inline-block; width:10px; height:10px; border-radius:50%; background:#888; margin-right:6px; vertical-align:middle; }
.dot.live { background:#5fd38d; } .dot.down { background:#e06c75; }
main { padding:14px 18px; display:grid; gap:14px; grid-template-columns: minmax(0, 1fr); }
section.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
section.card h2 { margin:0 0 6px; font-size:16px; }
section.card h2 small { font-weight:normal; color:var(--muted); font-size:12px; margin-left:8px; }
.stats { display:flex; gap:18px; align-items:center; flex-wrap:wrap; margin-bottom:8px; }
.stat { min-width:7em; }
.stat b { display:block; font-size:20px; font-variant-numeric:tabular-nums; }
.stat span { color:var(--muted); font-size:12px; }
canvas.spark { width:260px; height:46px; border:1px solid var(--line); border-radius:4px; background:#fbfcfd; }
.bitmap-bar { display:flex; gap:8px; align-items:center; margin:4px 0; flex-wrap:wrap; color:var(--muted); font-size:12px; }
.bitmap-bar button { font:inherit; padding:1px 8px; }
canvas.bitmap { width:100%; height:240px; display:block; border:1px solid var(--line); border-radius:4px; cursor:grab; background:#fff; touch-action:none; }
canvas.bitmap.dragging { cursor:grabbing; }
.legend { display:flex; gap:12px; font-size:12px; color:var(--muted); margin:4px 0 8px; flex-wrap:wrap; }
.legend i { display:inline-block; width:12px; height:12px; vertical-align:-2px; margin-right:4px; border:1px solid #0002; }
.hover { font-family:ui-monospace, monospace; font-size:12px; color:var(--muted); min-height:1.4em; }
.cols { display:grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap:12px; }
.box { border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
.box h3 { margin:0 0 6px; font-size:13px; color:var(--muted); text-transform:uppercase; letter-spacing:.6px; }
.box input[type=number] { width:7em; font:inherit; padding:2px 4px; }
.box button { font:inherit; padding:2px 10px; margin-left:4px; }
.answer { display:block; margin-top:6px; font-family:ui-monospace, monospace; font-size:12px; white-space:pre-wrap; min-height:1.4em; }
.answer.ok { color:var(--ok); } .answer.err { color:var(--accent); }
canvas.hist { width:100%; height:120px; display:block; }
ol.runs { margin:4px 0 0; padding-left:20px; font-family:ui-monospace, monospace; font-size:12px; max-height:110px; overflow:auto; }
ol.runs li { cursor:pointer; } ol.runs li:hover { text-decoration:underline; }
pre.stream { margin:0; max-height:260px; overflow:auto; font-size:12px; background:#10161f; color:#d7e0ea; padding:8px; border-radius:6px; white-space:pre-wrap; overflow-wrap:anywhere; }
.streams { display:grid; gap:14px; grid-template-columns:minmax(0, 1fr); }
.muted { color:var(--muted); }
.prov { font-size:10px; padding:0 4px; border-radius:3px; margin-left:2px; vertical-align:1px; }
.prov-known { background:#d8f0df; color:#1f6b3c; } .prov-inferred { background:#fff1c7; color:#7a5a00; } .prov-unknown { background:#eceff3; color:#5d6b7a; }
.device-area .box { margin-top:8px; } .unreadable ul { margin:4px 0; font-family:ui-monospace, monospace; font-size:12px; }
canvas.device-runs { cursor:default; }
`;

/** The page the browser loads at `/`. */
export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cma-debug dashboard</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <h1>cma-debug</h1>
  <span class="source" id="source">connecting…</span>
  <span class="spacer"></span>
  <span id="live-state"><span class="dot" id="live-dot"></span><span id="live-text">offline</span></span>
  <label>token <input id="token" type="password" autocomplete="off" placeholder="needed to allocate / free"></label>
</header>
<main>
  <div id="areas" style="display:grid;gap:14px"></div>
  <div class="streams">
    <section class="card">
      <h2>Trace events <small>/sys/kernel/tracing/trace, as they happen</small></h2>
      <label><input type="checkbox" id="trace-enable"> record cma events (events/cma/enable)</label>
      <span class="answer" id="trace-answer"></span>
      <pre class="stream" id="trace"></pre>
    </section>
    <section class="card">
      <h2>Kernel log <small>dmesg</small></h2>
      <pre class="stream" id="log"></pre>
    </section>
  </div>
</main>
<script src="/app.js"></script>
</body>
</html>
`;
}
