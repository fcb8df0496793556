// moodcast's page: reads /api/now every 2 s, the timeline every 10 s, what was learned every
// 30 s; posts the controls as JSON with the X-Moodcast header (the server refuses POSTs without it).
"use strict";

const $ = (id) => document.getElementById(id);
let span = "hour";
let previewTimer = null;
let lastState = null;

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Moodcast": "1" },
    body: JSON.stringify(body),
  });
  const answer = await r.json();
  if (!r.ok) throw new Error(answer.error || r.status);
  return answer;
}

const pct = (x) => `${Math.round(x * 100)}%`;
const clock = (ts) => new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const text = (id, value) => { $(id).textContent = value; };

function showNow(now) {
  const online = now.online && now.connected;
  const pill = $("daemon");
  pill.textContent = !now.connected ? "broker unreachable" : now.online ? "daemon online" : "daemon offline";
  pill.className = `pill ${online ? "online" : "offline"}`;
  text("device", now.device);
  text("preview-s", now.preview_s >= 60 ? `${+(now.preview_s / 60).toFixed(1)} min` : `${now.preview_s} s`);
  const s = now.state;
  lastState = s;
  if (s) {
    text("emotion", !s.enabled ? "paused" : s.emotion || "nobody");
    text("confidence", s.emotion ? pct(s.confidence) : "–");
    text("faces", `${s.faces} face${s.faces === 1 ? "" : "s"}`);
    text("genre", s.genre || "– (nobody in view)");
    text("strategy", s.strategy || (now.config && now.config.strategy) || "–");
    text("pause", s.enabled ? "Pause analysis" : "Resume analysis");
  }
  if (now.config && document.activeElement !== $("strategy-select")) $("strategy-select").value = now.config.strategy;
  const p = now.player;
  if (now.player_availability !== "online" || !p) text("track", "moodcast play is not running");
  else text("track", `${p.playing ? "▶" : "⏸"} ${p.track || "nothing"} (${p.reason})`);
  const st = now.stats;
  if (st) {
    text("fps", st.fps == null ? "starting" : `${st.fps.toFixed(1)} frames/s`);
    text("temp", st.cpu_temp_c == null ? "no sensor" : `${st.cpu_temp_c.toFixed(0)} °C`);
    text("source", st.source_ok ? "delivering" : `failing: ${st.source_error || "?"}`);
    text("rss", st.rss_mb == null ? "–" : `${st.rss_mb.toFixed(0)} MB`);
    text("uptime", `${Math.round(st.uptime_s / 60)} min`);
  }
  const c = now.config && now.config.last_command;
  if (c) text("last-command", `${c.key}=${c.value} ${c.ok ? "applied" : "refused: " + c.error}`);
  showPreview(now.preview_until, now.server_time);
  showDoctor(now.doctor);
}

function showDoctor(d) {
  const last = d && d.last;
  $("doctor-button").disabled = Boolean(d && d.running);
  if (!last) { text("doctor", d && d.running ? "running…" : "–"); return; }
  const words = { ok: "all fine", warn: "warnings", fail: "failures" };
  text("doctor", `${words[last.status] || last.status} (${last.checks} checks, ${clock(last.at)})${d.running ? ", running again…" : ""}`);
  $("doctor-problems").replaceChildren(
    ...last.problems.map((p) => {
      const li = document.createElement("li");
      li.textContent = `${p.status}: ${p.name}: ${p.detail}${p.fix ? " (fix: " + p.fix + ")" : ""}`;
      return li;
    })
  );
}

function showTimeline(t) {
  const svg = $("timeline");
  // Less history than the span (a new device, a restart): the chart starts at the first point.
  const first = t.points.length ? t.points[0].ts : t.now;
  const W = 600, H = 180, start = Math.max(t.now - t.span_s, Math.min(first, t.now - 60));
  const width = t.now - start;
  const x = (ts) => ((ts - start) / width) * W;
  const y = (v) => H / 2 - v * (H / 2 - 8);
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const line = (cls, key) => {
    const path = document.createElementNS(ns, "polyline");
    path.setAttribute("class", cls);
    path.setAttribute("points", t.points.map((p) => `${x(p.ts).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" "));
    svg.append(path);
  };
  const zero = document.createElementNS(ns, "line");
  zero.setAttribute("class", "zero");
  zero.setAttribute("x1", 0); zero.setAttribute("x2", W); zero.setAttribute("y1", H / 2); zero.setAttribute("y2", H / 2);
  svg.append(zero);
  for (const c of t.changes) {
    const m = document.createElementNS(ns, "line");
    m.setAttribute("class", "change");
    const cx = Math.max(1, x(c.ts));
    m.setAttribute("x1", cx); m.setAttribute("x2", cx); m.setAttribute("y1", 0); m.setAttribute("y2", H);
    const title = document.createElementNS(ns, "title");
    title.textContent = `${clock(c.ts)} ${c.genre || "no genre"}: ${c.reason}`;
    m.append(title);
    svg.append(m);
  }
  line("v", "valence");
  line("a", "arousal");
  svg.dataset.points = t.points.length;
  text("t-start", clock(start));
  $("changes").replaceChildren(
    ...t.changes.slice(-6).reverse().map((c) => {
      const li = document.createElement("li");
      li.textContent = `${clock(c.ts)} → ${c.genre || "no genre"}: ${c.reason}`;
      return li;
    })
  );
  if (!t.changes.length) $("changes").replaceChildren(Object.assign(document.createElement("li"), { textContent: "no genre change yet" }));
}

function showLearned(l) {
  const items = l.emotions.map((e) => {
    const li = document.createElement("li");
    const b = document.createElement("b");
    b.textContent = e.sentence;
    const small = document.createElement("small");
    small.textContent = e.genres
      .map((g) => `${g.chosen ? "✓ " : ""}${g.genre}: kept ${g.kept}, skipped ${g.skipped}`)
      .join(" · ");
    li.append(b, small);
    return li;
  });
  $("learned").replaceChildren(...(items.length ? items : [Object.assign(document.createElement("li"), { textContent: "nothing published yet" })]));
}

function showPreview(until, serverTime) {
  const banner = $("preview-banner");
  const img = $("preview");
  if (!until) {
    banner.hidden = true;
    img.hidden = true;
    if (previewTimer) { clearInterval(previewTimer); previewTimer = null; }
    if (img.src) { URL.revokeObjectURL(img.src); img.removeAttribute("src"); }
    $("preview-button").disabled = false;
    return;
  }
  const left = Math.max(0, Math.round(until - serverTime));
  banner.hidden = false;
  banner.textContent = `● The camera is shown on this page: ${left} s left, then it stops by itself.`;
  $("preview-button").disabled = true;
  if (!previewTimer) previewTimer = setInterval(loadPreview, 1000);
}

async function loadPreview() {
  const r = await fetch("/api/preview.jpg", { cache: "no-store" });
  if (r.status !== 200) return; // 204: no picture yet; 404: the preview has ended
  const img = $("preview");
  const old = img.src;
  img.src = URL.createObjectURL(await r.blob());
  img.hidden = false;
  if (old) URL.revokeObjectURL(old);
}

function say(message) { text("sent", message); }

async function refresh() {
  try { showNow(await getJSON("/api/now")); } catch (e) { say(`cannot reach the page's server: ${e.message}`); }
}
async function refreshTimeline() {
  try { showTimeline(await getJSON(`/api/timeline?span=${span}`)); } catch (e) { say(e.message); }
}
async function refreshLearned() {
  try { showLearned(await getJSON("/api/learned")); } catch (e) { say(e.message); }
}

function control(id, path, body, done) {
  $(id).addEventListener("click", async () => {
    try {
      const answer = await post(path, typeof body === "function" ? body() : body);
      say(done(answer));
      refresh();
      setTimeout(refreshLearned, 1000); // the daemon learns a feedback within a tick
    } catch (e) { say(`not sent: ${e.message}`); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  control("like", "/api/feedback", { outcome: "liked" }, (a) => `liked ${a.sent.genre || "the current genre"}${a.sent.emotion ? " when " + a.sent.emotion : ""}`);
  control("dislike", "/api/feedback", { outcome: "disliked" }, (a) => `disliked ${a.sent.genre || "the current genre"}${a.sent.emotion ? " when " + a.sent.emotion : ""}`);
  control("pause", "/api/enabled", () => ({ enabled: !(lastState && lastState.enabled) }), (a) => (a.sent ? "analysis resumed" : "analysis paused"));
  control("preview-button", "/api/preview", {}, (a) => `camera shown for ${a.seconds} s`);
  control("doctor-button", "/api/doctor", {}, () => "the checks are running");
  $("strategy-select").addEventListener("change", async (ev) => {
    try { say(`strategy ${(await post("/api/strategy", { strategy: ev.target.value })).sent} asked for`); } catch (e) { say(`not sent: ${e.message}`); }
  });
  for (const s of ["hour", "day"]) {
    $(`span-${s}`).addEventListener("click", () => {
      span = s;
      $("span-hour").classList.toggle("on", s === "hour");
      $("span-day").classList.toggle("on", s === "day");
      refreshTimeline();
    });
  }
  refresh(); refreshTimeline(); refreshLearned();
  setInterval(refresh, 2000);
  setInterval(refreshTimeline, 10000);
  setInterval(refreshLearned, 30000);
});
