/// The web page at `GET /`: submit prompts, watch jobs stream, see status, attempts, usage and
/// errors, cancel. One self-contained document (no build step, no external assets); it reads
/// `/v1/jobs` once, then follows `/v1/events` (one connection for every job, so the browser's
/// per-host connection limit never caps how many jobs stream at once).
enum GatewayPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>llmq gateway</title>
<style>
:root {
  --bg: #f6f7f9; --panel: #ffffff; --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec;
  --accent: #4f5bd5; --accent-ink: #ffffff; --ok: #1f9d55; --warn: #c77c02; --bad: #d64545; --idle: #8a94a6;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #12151c; --panel: #1a1f29; --ink: #e6e9ef; --muted: #9aa3b5; --line: #2a3140; --accent: #7c86ff; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: center; gap: 14px; padding: 14px 28px; background: var(--panel); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
header h1 { font-size: 18px; margin: 0; letter-spacing: .2px; }
header h1 span { color: var(--accent); }
header .sub { color: var(--muted); font-size: 13px; }
header .spacer { flex: 1; }
.conn { display: inline-flex; align-items: center; gap: 6px; font-size: 13px; color: var(--muted); }
.dot { width: 9px; height: 9px; border-radius: 50%; background: var(--idle); }
.dot.live { background: var(--ok); box-shadow: 0 0 0 3px color-mix(in srgb, var(--ok) 25%, transparent); }
.dot.down { background: var(--bad); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; }
.composer { background: var(--panel); border: 1px solid var(--line); border-radius: 14px; padding: 16px; box-shadow: 0 1px 2px rgba(0,0,0,.04); }
.composer textarea { width: 100%; min-height: 74px; resize: vertical; border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; font: inherit; background: var(--bg); color: var(--ink); }
.composer textarea:focus, .composer input:focus { outline: 2px solid color-mix(in srgb, var(--accent) 45%, transparent); border-color: var(--accent); }
.row { display: flex; gap: 10px; align-items: center; margin-top: 10px; flex-wrap: wrap; }
.row input { border: 1px solid var(--line); border-radius: 8px; padding: 7px 10px; font: inherit; font-size: 13px; background: var(--bg); color: var(--ink); }
.row .hint { color: var(--muted); font-size: 12px; flex: 1; }
button { font: inherit; border-radius: 9px; border: 1px solid transparent; padding: 8px 16px; cursor: pointer; }
button.primary { background: var(--accent); color: var(--accent-ink); font-weight: 600; }
button.primary:hover { filter: brightness(1.08); }
button.ghost { background: transparent; border-color: var(--line); color: var(--muted); padding: 4px 10px; font-size: 12px; }
button.ghost:hover { color: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .5; cursor: default; }
.toolbar { display: flex; align-items: baseline; gap: 12px; margin: 26px 2px 12px; }
.toolbar h2 { font-size: 15px; margin: 0; }
.toolbar .counts { color: var(--muted); font-size: 13px; }
#jobs { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
.job { background: var(--panel); border: 1px solid var(--line); border-radius: 14px; padding: 14px 16px; display: flex; flex-direction: column; gap: 8px; min-height: 150px; box-shadow: 0 1px 2px rgba(0,0,0,.04); transition: border-color .2s; }
.job.mine { border-color: color-mix(in srgb, var(--accent) 35%, var(--line)); }
.job .top { display: flex; align-items: center; gap: 8px; }
.job .id { font-family: var(--mono); font-size: 12px; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; flex: 1; }
.badge { font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .5px; padding: 2px 8px; border-radius: 99px; background: color-mix(in srgb, var(--idle) 18%, transparent); color: var(--idle); }
.badge.streaming { background: color-mix(in srgb, var(--accent) 16%, transparent); color: var(--accent); }
.badge.succeeded { background: color-mix(in srgb, var(--ok) 16%, transparent); color: var(--ok); }
.badge.failed, .badge.invalid, .badge.expired { background: color-mix(in srgb, var(--bad) 14%, transparent); color: var(--bad); }
.badge.cancelled, .badge.cancelling { background: color-mix(in srgb, var(--warn) 16%, transparent); color: var(--warn); }
.job .prompt { font-size: 13px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.job .text { white-space: pre-wrap; word-break: break-word; font-size: 14px; flex: 1; max-height: 240px; overflow: auto; }
.job .text:empty::before { content: "waiting for a worker…"; color: var(--muted); font-style: italic; }
.job.streaming .text::after { content: "▍"; color: var(--accent); animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
.job .meta { display: flex; gap: 12px; flex-wrap: wrap; font-size: 12px; color: var(--muted); border-top: 1px dashed var(--line); padding-top: 8px; }
.job .meta b { color: var(--ink); font-weight: 600; }
.job .error { font-size: 12px; color: var(--bad); }
.empty { color: var(--muted); text-align: center; padding: 40px; border: 1px dashed var(--line); border-radius: 14px; }
.notice { margin-top: 10px; font-size: 13px; color: var(--bad); min-height: 1em; }
</style>
</head>
<body>
<header>
  <h1>llm<span>q</span> gateway</h1>
  <span class="sub">Kafka-backed LLM jobs, streamed live</span>
  <span class="spacer"></span>
  <span class="conn"><span id="dot" class="dot"></span><span id="conn">connecting…</span></span>
</header>
<main>
  <form class="composer" id="composer">
    <textarea id="prompt" placeholder="Ask something… (Ctrl+Enter to send)" required></textarea>
    <div class="row">
      <input id="model" placeholder="model (optional)" size="16">
      <input id="maxTokens" placeholder="max tokens" size="10" inputmode="numeric">
      <input id="token" type="password" placeholder="bearer token (if required)" size="22" autocomplete="off">
      <span class="hint">Each prompt becomes a job on the jobs topic; workers stream it back through Kafka.</span>
      <button class="primary" id="submit" type="submit">Submit</button>
    </div>
    <div class="notice" id="notice"></div>
  </form>
  <div class="toolbar"><h2>Jobs</h2><span class="counts" id="counts"></span></div>
  <div id="jobs"><div class="empty" id="empty">No jobs yet. Submit a prompt above.</div></div>
</main>
<script>
"use strict";
const jobs = new Map();
const el = (id) => document.getElementById(id);
const tokenInput = el("token");
tokenInput.value = localStorage.getItem("llmq.token") || "";
tokenInput.addEventListener("change", () => { localStorage.setItem("llmq.token", tokenInput.value); connect(); });
const headers = (extra) => {
  const h = Object.assign({}, extra || {});
  if (tokenInput.value) h["Authorization"] = "Bearer " + tokenInput.value;
  return h;
};
const notice = (text) => { el("notice").textContent = text || ""; };
const finished = (s) => ["succeeded", "failed", "invalid", "expired", "cancelled"].includes(s);

function card(id) {
  let job = jobs.get(id);
  if (job) return job;
  const node = document.createElement("div");
  node.className = "job";
  node.dataset.id = id;
  node.innerHTML = '<div class="top"><span class="badge status">queued</span><span class="id"></span>' +
    '<button class="ghost cancel" type="button">Cancel</button></div><div class="prompt"></div><div class="text"></div>' +
    '<div class="error"></div><div class="meta"></div>';
  node.querySelector(".id").textContent = id;
  node.querySelector(".cancel").addEventListener("click", () => cancel(id));
  el("empty")?.remove();
  el("jobs").prepend(node);
  job = { id, node, status: "queued", stream: null, attempt: 0, deltas: [], next: 1, text: "", usage: null, timing: null, error: null };
  jobs.set(id, job);
  return job;
}

function render(job) {
  const n = job.node;
  const status = job.status === "queued" && job.cancelling ? "cancelling" : job.status;
  const badge = n.querySelector(".status");
  badge.textContent = status;
  badge.className = "badge status " + status;
  n.classList.toggle("streaming", job.status === "streaming");
  n.classList.toggle("mine", !!job.mine);
  n.querySelector(".text").textContent = job.text;
  const t = n.querySelector(".text"); t.scrollTop = t.scrollHeight;
  if (job.prompt) n.querySelector(".prompt").textContent = job.prompt;
  n.querySelector(".error").textContent = job.error ? job.error.kind + ": " + job.error.message : "";
  const meta = [];
  if (job.attempt) meta.push("attempt <b>" + job.attempt + "</b>");
  if (job.usage) meta.push("tokens <b>" + job.usage.prompt_tokens + "</b> in · <b>" + job.usage.completion_tokens + "</b> out");
  if (job.timing && job.timing.total_ms != null) meta.push("<b>" + (job.timing.total_ms / 1000).toFixed(2) + "</b> s");
  if (job.timing && job.timing.first_chunk_ms != null) meta.push("first token <b>" + job.timing.first_chunk_ms + "</b> ms");
  if (job.cancelling && !finished(job.status)) meta.push("cancel requested");
  n.querySelector(".meta").innerHTML = meta.map((m) => "<span>" + m + "</span>").join("");
  n.querySelector(".cancel").disabled = finished(job.status) || !!job.cancelling;
  n.querySelector(".cancel").style.display = finished(job.status) ? "none" : "";
  counts();
}

function counts() {
  let live = 0, done = 0;
  for (const j of jobs.values()) { if (finished(j.status)) done++; else live++; }
  el("counts").textContent = live + " in progress · " + done + " finished";
}

function applyResult(job, r) {
  job.status = r.status;
  if (r.text || r.status === "succeeded") job.text = r.text;
  job.usage = r.usage; job.timing = r.timing; job.error = r.error;
  if (r.attempts) job.attempt = r.attempts;
}

function apply(name, data) {
  const id = data.job_id;
  if (!id) return;
  const job = card(id);
  switch (name) {
    case "queued": if (data.prompt && !job.prompt) job.prompt = data.prompt; break;
    case "cancel": job.cancelling = true; break;
    case "reset":
      if (finished(job.status)) return;
      job.stream = data.stream_id; job.attempt = data.attempt; job.deltas = []; job.next = 1; job.text = ""; job.status = "streaming"; job.error = null;
      break;
    case "delta":
      if (data.stream_id !== job.stream) return;
      job.deltas[data.seq] = data.delta;
      while (job.deltas[job.next] !== undefined) { job.text += job.deltas[job.next]; job.next++; }
      break;
    case "end": case "abort":
      if (data.stream_id !== job.stream) return;
      if (name === "abort" && data.retrying) job.error = { kind: "retrying", message: data.reason };
      break;
    case "result": applyResult(job, data); break;
    default: return;
  }
  render(job);
}

async function loadRecent() {
  const res = await fetch("/v1/jobs?limit=60", { headers: headers() });
  if (res.status === 401) { notice("This gateway needs a bearer token: enter it above."); return false; }
  const body = await res.json();
  for (const s of body.jobs.slice().reverse()) {
    const job = card(s.id);
    job.cancelling = s.cancel_requested;
    if (s.prompt) job.prompt = s.prompt;
    if (s.result) applyResult(job, s.result);
    else { job.status = s.status; job.text = s.text || ""; job.attempt = s.attempt || 0; job.stream = s.stream_id || null; job.next = Infinity; }
    render(job);
  }
  return true;
}

let controller = null;
async function connect() {
  if (controller) controller.abort();
  controller = new AbortController();
  const mine = controller;
  el("dot").className = "dot"; el("conn").textContent = "connecting…";
  try {
    if (!(await loadRecent())) { el("dot").className = "dot down"; el("conn").textContent = "token needed"; return; }
    notice("");
    const res = await fetch("/v1/events", { headers: headers(), signal: mine.signal });
    if (!res.ok) throw new Error("HTTP " + res.status);
    el("dot").className = "dot live"; el("conn").textContent = "live";
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        let name = "message"; const lines = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) lines.push(line.slice(5).replace(/^ /, ""));
        }
        if (lines.length) { try { apply(name, JSON.parse(lines.join("\n"))); } catch (e) { console.warn(e); } }
      }
    }
  } catch (e) {
    if (mine.signal.aborted) return;
  }
  if (mine !== controller) return;
  el("dot").className = "dot down"; el("conn").textContent = "reconnecting…";
  setTimeout(() => { if (mine === controller) connect(); }, 1500);
}

async function submit(event) {
  event.preventDefault();
  const prompt = el("prompt").value.trim();
  if (!prompt) return;
  const job = { prompt };
  if (el("model").value.trim()) job.model = el("model").value.trim();
  const max = parseInt(el("maxTokens").value, 10);
  if (max > 0) job.params = { max_tokens: max };
  el("submit").disabled = true;
  try {
    const res = await fetch("/v1/jobs", { method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(job) });
    const body = await res.json();
    if (!res.ok) { notice(body.error ? body.error.message : "HTTP " + res.status); return; }
    const j = card(body.id); j.mine = true; j.prompt = prompt; render(j);
    el("prompt").value = ""; notice("");
  } catch (e) { notice("could not submit: " + e.message); }
  finally { el("submit").disabled = false; el("prompt").focus(); }
}

async function cancel(id) {
  const job = card(id);
  job.cancelling = true; render(job);
  const res = await fetch("/v1/jobs/" + encodeURIComponent(id), { method: "DELETE", headers: headers() });
  if (!res.ok && res.status !== 409) { job.cancelling = false; render(job); notice("cancel failed: HTTP " + res.status); }
}

el("composer").addEventListener("submit", submit);
el("prompt").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) el("composer").requestSubmit(); });
connect();
</script>
</body>
</html>
"""#
}
