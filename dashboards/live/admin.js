// The admin page: every change goes to the config file through /api/admin (validated as at
// start-up, audited) and the answer says what took effect now and what waits for a restart.
"use strict";

let view = null;

function say(text, bad) {
  const m = $("msg");
  m.textContent = text;
  m.className = "msg " + (bad ? "bad" : "ok");
}

function outcome(r) {
  const live = r.live && r.live.length ? ` Now: ${r.live.join("; ")}.` : "";
  const wait = r.pending_restart && r.pending_restart.length ? ` Waits for a restart: ${r.pending_restart.join(", ")}.` : "";
  return `Saved to the config file.${live}${wait}`;
}

async function change(method, path, body) {
  try {
    const r = await api(method, path, body);
    say(outcome(r));
    await load();
    return true;
  } catch (e) {
    say(`Not saved: ${e.message}`, true);
    return false;
  }
}

function deviceSource(d) {
  if (d.simulate) return `simulated (${d.simulate.scenario || "steady"})`;
  return d.port || d.address || "—";
}

function deviceNow(d) {
  const run = d.running;
  if (!run) return el("span", { class: "muted" }, "not running (restart)");
  const cls = run.state === "connected" ? "state-connected" : "state-down";
  return el("span", { class: cls }, `${run.state}${run.detail ? " — " + run.detail : ""}, ${run.frames} frames`);
}

async function testDevice(room, device) {
  const out = $("probe");
  out.hidden = false;
  out.textContent = `Testing ${device}…\n`;
  const r = await fetch("/api/admin/devices/test", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify({ room, device, seconds: 6 }),
  });
  if (!r.ok) { out.textContent += `refused: ${(await r.json()).detail}\n`; return; }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      out.textContent += line(m) + "\n";
      out.scrollTop = out.scrollHeight;
    }
  }
}

function line(m) {
  const t = m.t ? hms(m.t) + " " : "";
  if (m.type === "reading") {
    const flags = m.status && m.status.length ? ` [${m.status.join(", ")}]` : "";
    return `${t}${m.source} ${m.channel} = ${m.value ?? "—"}${flags}`;
  }
  if (m.type === "device") return `${t}${m.source} link ${m.state}${m.detail ? " (" + m.detail + ")" : ""}`;
  if (m.type === "end") return `— done: ${m.readings} readings${m.frames !== undefined ? ", " + m.frames + " frames" : ""}`;
  return `${m.type === "error" ? "ERROR: " : ""}${m.text}`;
}

function renderRooms() {
  const body = $("devices").tBodies[0];
  body.replaceChildren();
  const select = document.querySelector("#form-device [name=room]");
  select.replaceChildren(...view.rooms.map((r) => el("option", { value: r.id }, r.id)));
  for (const r of view.rooms) {
    if (!r.devices.length) {
      body.append(el("tr", {}, el("td", {}, `${r.id} — ${r.name || ""}`), el("td", { colspan: 4, class: "muted" }, "no devices"),
        el("td", {}, el("button", { type: "button", class: "danger", onclick: () => confirm(`Remove room ${r.id}?`) && change("DELETE", `/api/admin/rooms/${encodeURIComponent(r.id)}`) }, "Remove room"))));
    }
    for (const d of r.devices) {
      body.append(el("tr", { "data-device": d.id },
        el("td", {}, `${r.id} — ${r.name || ""}`),
        el("td", {}, d.id),
        el("td", {}, d.protocol),
        el("td", {}, deviceSource(d)),
        el("td", {}, deviceNow(d)),
        el("td", {},
          el("button", { type: "button", "data-action": "test", onclick: () => testDevice(r.id, d.id) }, "Test connection"), " ",
          el("button", { type: "button", class: "danger", onclick: () => confirm(`Remove device ${d.id}?`) && change("DELETE", `/api/admin/rooms/${encodeURIComponent(r.id)}/devices/${encodeURIComponent(d.id)}`) }, "Remove"))));
    }
  }
}

function renderContacts() {
  const body = $("contacts").tBodies[0];
  body.replaceChildren(...view.contacts.map((c) => el("tr", { "data-contact": c.name },
    el("td", {}, c.name), el("td", {}, c.tier), el("td", {}, c.rooms.length ? c.rooms.join(", ") : "every room"),
    el("td", {}, c.channels.join(" ")),
    el("td", {},
      el("button", { type: "button", "data-action": "page", onclick: () => testPage(c.name) }, "Send test page"), " ",
      el("button", { type: "button", class: "danger", onclick: () => confirm(`Remove contact ${c.name}?`) && change("DELETE", `/api/admin/contacts/${encodeURIComponent(c.name)}`) }, "Remove")))));
  if (!view.contacts.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No paging: alarms show on the dashboard only.")));
}

async function testPage(name) {
  try {
    const r = await api("POST", `/api/admin/contacts/${encodeURIComponent(name)}/test`);
    const bad = r.results.filter((x) => !x.ok);
    say(r.results.map((x) => `${name} via ${x.channel}: ${x.ok ? "delivered" : "FAILED — " + x.why}`).join("; "), bad.length > 0);
  } catch (e) { say(`Test page not sent: ${e.message}`, true); }
}

function limitText(l) {
  const v = l.absolute ?? (l.offset !== null && l.offset !== undefined ? `baseline ${l.offset >= 0 ? "+" : ""}${l.offset}` : `baseline × ${l.factor}`);
  return `${l.channel} ${l.comparator} ${v}`;
}

function renderRules() {
  const body = $("rules").tBodies[0];
  body.replaceChildren();
  const select = document.querySelector("#form-rule [name=condition]");
  const chosen = select.value;  // kept across a reload after a save
  select.replaceChildren();
  for (const [id, c] of Object.entries(view.conditions)) {
    select.append(el("option", { value: id }, id));
    body.append(el("tr", { "data-condition": id },
      el("td", {}, id, " ", c.overridden ? el("span", { class: "badge over" }, "clinic override") : null),
      el("td", {}, c.enabled ? "on" : "off"),
      el("td", { class: "p-" + c.priority }, c.priority),
      el("td", { class: "num" }, `${c.delay_s} s`),
      el("td", {}, c.limits.map(limitText).join("; ")),
      el("td", {}, c.overridden ? el("button", { type: "button", onclick: () => change("DELETE", `/api/admin/rules/conditions/${id}`) }, "Back to default") : null)));
  }
  if (chosen in view.conditions) select.value = chosen;
  fillRule();
  const sections = document.querySelector("#form-section [name=section]");
  const shown = sections.value;
  sections.replaceChildren(...Object.keys(view.rule_sections).map((k) => el("option", { value: k }, k)));
  if (shown in view.rule_sections) sections.value = shown;
  fillSection();
}

function fillSection() {
  const f = $("form-section");
  f.values.value = JSON.stringify(view.rule_sections[f.section.value] || {}, null, 1);
}

function fillRule() {
  const f = $("form-rule");
  const c = view.conditions[f.condition.value];
  if (!c) return;
  f.enabled.value = String(c.enabled);
  f.priority.value = c.priority;
  f.delay_s.value = c.delay_s;
  f.limits.value = fillRule.limits = JSON.stringify(c.limits.map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== null))));
}

async function renderUsers() {
  const users = await api("GET", "/api/users");
  const body = $("users").tBodies[0];
  body.replaceChildren(...users.map((u) => {
    const role = el("select", { "aria-label": `role of ${u.username}` }, ...["viewer", "nurse", "clinician", "admin"].map((r) => el("option", { value: r, selected: r === u.role }, r)));
    role.addEventListener("change", () => userChange("PATCH", u.username, { role: role.value }));
    return el("tr", { "data-user": u.username }, el("td", {}, u.username), el("td", {}, role),
      el("td", {}, el("button", { type: "button", class: "danger", onclick: () => confirm(`Remove ${u.username}?`) && userChange("DELETE", u.username) }, "Remove")));
  }));
}

async function userChange(method, username, body) {
  try {
    await api(method, `/api/users/${encodeURIComponent(username)}`, body);
    say(`Account ${username} ${method === "DELETE" ? "removed" : "changed"} (at once).`);
  } catch (e) { say(`Not changed: ${e.message}`, true); }
  await renderUsers();
}

async function load() {
  view = await api("GET", "/api/admin/config");
  $("file").textContent = view.file
    ? `Config file: ${view.file} (the previous version is kept as ${view.file}.bak). Every change is validated as at start-up and recorded in the audit trail with your name.`
    : "No config file: this is the demo. Start Vigil with --config FILE to change its configuration here.";
  for (const f of document.querySelectorAll("main form:not(#form-user)")) f.querySelector("button").disabled = !view.file;
  const pending = view.pending_restart;
  $("restart").hidden = !pending.length;
  $("restart").textContent = pending.length ? `Saved in the file, not yet running: ${pending.join(", ")}. Restart Vigil (between sessions) to apply.` : "";
  for (const b of document.querySelectorAll("[data-effect]")) b.textContent = view.takes_effect[b.dataset.effect];
  renderRooms();
  renderContacts();
  renderRules();
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

$("form-room").addEventListener("submit", (e) => {
  e.preventDefault();
  const v = formValues(e.target);
  change("PUT", `/api/admin/rooms/${encodeURIComponent(v.id)}`, { name: v.name });
});
$("form-device").addEventListener("submit", (e) => {
  e.preventDefault();
  const v = formValues(e.target);
  const body = { protocol: v.protocol };
  if (v.port) body.port = v.port;
  if (v.scenario) body.simulate = { scenario: v.scenario };
  change("PUT", `/api/admin/rooms/${encodeURIComponent(v.room)}/devices/${encodeURIComponent(v.id)}`, body);
});
$("form-contact").addEventListener("submit", (e) => {
  e.preventDefault();
  const v = formValues(e.target);
  const body = { tier: Number(v.tier) };
  const rooms = v.rooms.split(",").map((s) => s.trim()).filter(Boolean);
  if (rooms.length) body.rooms = rooms;
  const urls = v.urls.split("\n").map((s) => s.trim()).filter(Boolean);
  if (urls.length) body.urls = urls;
  change("PUT", `/api/admin/contacts/${encodeURIComponent(v.name)}`, body);
});
$("form-rule").condition.addEventListener("change", fillRule);
$("form-rule").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  let limits;
  try { limits = JSON.parse(f.limits.value); } catch (err) { say(`Not saved: limits: not valid JSON (${err.message})`, true); return; }
  const id = f.condition.value;
  const now = view.conditions[id];
  const given = { enabled: f.enabled.value === "true", priority: f.priority.value, delay_s: Number(f.delay_s.value), limits };
  // The file keeps only what the clinic changed: the existing override plus what differs now.
  const body = { ...(view.overrides[id] || {}) };
  for (const [k, v] of Object.entries(given)) {
    const was = k === "limits" ? JSON.parse(fillRule.limits) : now[k];
    if (JSON.stringify(v) !== JSON.stringify(was)) body[k] = v;
  }
  change("PUT", `/api/admin/rules/conditions/${id}`, body);
});
$("form-section").section.addEventListener("change", fillSection);
$("form-section").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  let values;
  try { values = JSON.parse(f.values.value); } catch (err) { say(`Not saved: ${f.section.value}: not valid JSON (${err.message})`, true); return; }
  // Only what differs from what is in effect now joins the file's own table.
  const now = view.rule_sections[f.section.value];
  const body = { ...(view.section_overrides?.[f.section.value] || {}) };
  for (const [k, v] of Object.entries(values)) if (JSON.stringify(v) !== JSON.stringify(now[k])) body[k] = v;
  change("PUT", `/api/admin/rules/${f.section.value}`, body);
});
$("form-user").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const u = await api("POST", "/api/users", formValues(e.target));
    say(`Account ${u.username} (${u.role}) added (at once).`);
    e.target.reset();
  } catch (err) { say(`Not added: ${err.message}`, true); }
  await renderUsers();
});

(async () => {
  await signedIn();
  await load();
  await renderUsers();
  document.body.dataset.ready = "1";
})().catch((e) => say(e.message, true));
