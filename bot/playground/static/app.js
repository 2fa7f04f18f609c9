// The playground page: pick a member and a channel, read it live, type messages and slash commands.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { world: null, me: null, channel: null, commands: [], events: null, chosen: null, pick: 0 };

async function api(path, options = {}) {
  const res = await fetch(path, options);
  const body = await res.json().catch(() => ({}));
  if (!res.ok || body.ok === false) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

const post = (path, body) => api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

function showError(text) {
  const box = $("#composer-error");
  box.textContent = text || "";
  box.hidden = !text;
}

// ------------------------------------------------------------------ world, player, channel

function worldHelpers(w) {
  const byId = (list, id) => list.find((x) => x.id === String(id));
  return Object.assign(w, {
    nameOf: (id) => byId(w.members, id)?.name || (id === w.bot.id ? w.bot.name : "unknown-user"),
    roleOf: (id) => byId(w.roles, id)?.name || "unknown-role",
    channelOf: (id) => byId(w.channels, id)?.name || "unknown-channel",
  });
}

async function boot() {
  state.world = worldHelpers(await api("/api/world"));
  $("#guild-name").textContent = state.world.guild.name;
  const picker = $("#player");
  for (const id of state.world.players) {
    const m = state.world.members.find((x) => x.id === id);
    picker.append(Object.assign(document.createElement("option"), { value: id, textContent: m.moderator ? `${m.name} (moderator)` : m.name }));
  }
  picker.addEventListener("change", () => become(picker.value));
  await become(state.world.players[0]);
}

async function become(userId) {
  state.me = userId;
  $("#player").value = userId;
  const me = state.world.members.find((m) => m.id === userId);
  $("#me-roles").textContent = me.roles.length ? `Roles: ${me.roles.join(", ")}` : "No roles";
  const visible = state.world.channels.filter((c) => c.visible_to.includes(userId));
  const list = $("#channels");
  list.replaceChildren();
  for (const c of visible) {
    const a = Object.assign(document.createElement("a"), { href: `#${c.name}`, textContent: c.name });
    a.dataset.id = c.id;
    a.addEventListener("click", (ev) => { ev.preventDefault(); open(c.id); });
    const li = document.createElement("li");
    li.append(a);
    list.append(li);
  }
  listen();
  const keep = visible.find((c) => c.id === state.channel);
  await open(keep ? keep.id : visible[0].id);
}

async function open(channelId) {
  state.channel = channelId;
  const c = state.world.channels.find((x) => x.id === channelId);
  $("#channel-name").textContent = c.name;
  $("#channel-topic").textContent = c.topic;
  for (const a of document.querySelectorAll("#channels a")) {
    a.classList.toggle("active", a.dataset.id === channelId);
    if (a.dataset.id === channelId) a.classList.remove("unread");
  }
  $("#box").placeholder = `Message #${c.name}, or / for commands`;
  resetComposer();
  const [messages, commands] = await Promise.all([
    api(`/api/channels/${channelId}/messages?as=${state.me}`),
    api(`/api/commands?user=${state.me}&channel=${channelId}`),
  ]);
  if (state.channel !== channelId) return;
  state.commands = commands;
  const box = $("#messages");
  box.replaceChildren();
  for (const m of messages) upsert(m);
  box.scrollTop = box.scrollHeight;
}

// ------------------------------------------------------------------ live messages

function listen() {
  if (state.events) state.events.close();
  const events = new EventSource(`/api/events?as=${state.me}`);
  state.events = events;
  events.addEventListener("hello", () => $("#live").classList.add("on"));
  events.addEventListener("error", () => $("#live").classList.remove("on"));
  events.addEventListener("message", (ev) => {
    const change = JSON.parse(ev.data);
    const channelId = change.kind === "delete" ? change.channel_id : change.message.channel_id;
    if (channelId !== state.channel) {
      if (change.kind === "create") document.querySelector(`#channels a[data-id="${channelId}"]`)?.classList.add("unread");
      return;
    }
    if (change.kind === "delete") document.querySelector(`.msg[data-id="${change.id}"]`)?.remove();
    else upsert(change.message);
  });
}

function upsert(m) {
  const box = $("#messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const node = Render.message(m, { world: state.world, act });
  const old = box.querySelector(`.msg[data-id="${m.id}"]`);
  if (old) old.replaceWith(node);
  else {
    const later = [...box.children].find((n) => BigInt(n.dataset.id) > BigInt(m.id));
    box.insertBefore(node, later || null);
  }
  if (atBottom || !old) box.scrollTop = box.scrollHeight;
}

async function act(messageId, customId, values, source) {
  showError("");
  if (source) source.disabled = true;
  try {
    const answer = await post("/api/click", { user: state.me, message_id: messageId, custom_id: customId, values });
    if (answer.modal) {
      if (source) source.disabled = false;  // a form is not an answer: the button stays usable
      openModal(answer.interaction_id, answer.modal);
    }
  } catch (err) {
    showError(err.message);
    if (source) source.disabled = false;
  }
}

// ------------------------------------------------------------------ modals (forms the bot opens)

function openModal(interactionId, modal) {
  const dialog = document.createElement("dialog");
  dialog.id = "modal";
  const form = Object.assign(document.createElement("form"), { method: "dialog" });
  form.append(Object.assign(document.createElement("h2"), { textContent: modal.title }));
  for (const f of modal.fields) {
    const label = Object.assign(document.createElement("label"), { textContent: f.label });
    if (f.description) label.append(Object.assign(document.createElement("small"), { textContent: f.description }));
    const input = document.createElement(f.paragraph ? "textarea" : "input");
    Object.assign(input, { name: f.custom_id, value: f.value, required: f.required, maxLength: f.max_length });
    label.append(input);
    form.append(label);
  }
  const error = Object.assign(document.createElement("div"), { className: "modal-error", role: "alert", hidden: true });
  const cancel = Object.assign(document.createElement("button"), { type: "button", className: "btn s2", textContent: "Cancel" });
  const send = Object.assign(document.createElement("button"), { type: "submit", className: "btn s1", textContent: "Submit" });
  const buttons = Object.assign(document.createElement("div"), { className: "row" });
  buttons.append(cancel, send);
  form.append(error, buttons);
  dialog.append(form);
  cancel.addEventListener("click", () => dialog.remove());
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const values = {};
    for (const input of form.querySelectorAll("[name]")) values[input.name] = input.value;
    send.disabled = true;
    try {
      await post("/api/modal", { user: state.me, interaction_id: interactionId, values });
      dialog.remove();
    } catch (err) {
      Object.assign(error, { textContent: err.message, hidden: false });
      send.disabled = false;
    }
  });
  document.getElementById("modal")?.remove();
  document.body.append(dialog);
  dialog.showModal();
}

// ------------------------------------------------------------------ composer

function resetComposer() {
  state.chosen = null;
  $("#box").value = "";
  $("#options").hidden = true;
  $("#option-fields").replaceChildren();
  hideSuggestions();
  showError("");
}

function hideSuggestions() {
  $("#suggestions").hidden = true;
  $("#suggestions").replaceChildren();
}

function matches(text) {
  const typed = text.slice(1).trim().toLowerCase();
  return state.commands.filter((c) => c.path.startsWith(typed) || typed.startsWith(`${c.path} `) || typed === c.path);
}

function suggest() {
  const text = $("#box").value;
  if (!text.startsWith("/") || (state.chosen && text.startsWith(`/${state.chosen.path}`))) return hideSuggestions();
  if (state.chosen) { state.chosen = null; $("#options").hidden = true; }
  const found = matches(text).filter((c) => !text.slice(1).includes(" ") || c.path.startsWith(text.slice(1).trim()));
  const list = $("#suggestions");
  list.replaceChildren();
  state.pick = Math.min(state.pick, Math.max(found.length - 1, 0));
  found.forEach((c, i) => {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.dataset.path = c.path;
    li.className = i === state.pick ? "sel" : "";
    li.innerHTML = `/${Render.esc(c.path)}<span class="d">${Render.esc(c.description)}</span>`;
    li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(c); });
    list.append(li);
  });
  list.hidden = found.length === 0;
}

function field(o) {
  const wrap = document.createElement("label");
  wrap.className = "opt";
  wrap.innerHTML = `<span>${Render.esc(o.name)}${o.required ? '<span class="req">*</span>' : ""}</span>`;
  wrap.title = o.description;
  let input;
  const pickFrom = (items) => {
    input = document.createElement("select");
    input.append(Object.assign(document.createElement("option"), { value: "", textContent: o.required ? "Choose…" : "(none)" }));
    for (const [value, label] of items) input.append(Object.assign(document.createElement("option"), { value, textContent: label }));
  };
  const w = state.world;
  if (o.choices.length) pickFrom(o.choices.map((c) => [c.value, c.name]));
  else if (o.kind === "boolean") pickFrom([["true", "True"], ["false", "False"]]);
  else if (o.kind === "user") pickFrom(w.members.map((m) => [m.id, m.name]));
  else if (o.kind === "role") pickFrom(w.roles.map((r) => [r.id, `@${r.name}`]));
  else if (o.kind === "mentionable") pickFrom([...w.members.map((m) => [m.id, m.name]), ...w.roles.map((r) => [r.id, `@${r.name}`])]);
  else if (o.kind === "channel") pickFrom(w.channels.map((c) => [c.id, `#${c.name}`]));
  else {
    input = document.createElement("input");
    input.placeholder = o.description;
    if (o.kind === "attachment") Object.assign(input, { type: "file", accept: "image/*" });
    else if (o.kind === "integer" || o.kind === "number") {
      Object.assign(input, { type: "number", step: o.kind === "integer" ? "1" : "any" });
      if (o.min_value !== undefined) input.min = o.min_value;
      if (o.max_value !== undefined) input.max = o.max_value;
    } else {
      input.type = "text";
      if (o.min_length !== undefined) input.minLength = o.min_length;
      if (o.max_length !== undefined) input.maxLength = o.max_length;
    }
  }
  input.name = o.name;
  input.dataset.kind = o.kind;
  input.required = o.required && o.kind !== "string";  // the text after the command may fill a string
  wrap.append(input);
  return wrap;
}

function choose(c) {
  state.chosen = c;
  hideSuggestions();
  $("#box").value = `/${c.path} `;
  $("#options-title").textContent = `/${c.path} — ${c.description}`;
  const fields = $("#option-fields");
  fields.replaceChildren(...c.options.map(field));
  $("#options").hidden = c.options.length === 0;
  $("#box").focus();
}

function rangeProblem(input) {
  if (input.type !== "number" || input.value === "") return null;
  const v = Number(input.value);
  if (input.step === "1" && !Number.isInteger(v)) return `${input.name} must be a whole number`;
  if ((input.min !== "" && v < Number(input.min)) || (input.max !== "" && v > Number(input.max))) {
    return `${input.name} must be between ${input.min || "−∞"} and ${input.max || "∞"}`;
  }
  return null;
}

async function runCommand(text) {
  const c = state.chosen;
  if (!c || !text.startsWith(`/${c.path}`)) return post("/api/interactions", { user: state.me, channel: state.channel, text });
  const options = {};
  const form = new FormData();
  let files = 0;
  for (const input of document.querySelectorAll("#option-fields [name]")) {
    const problem = rangeProblem(input);
    if (problem) throw new Error(problem);
    if (input.type === "file") {
      if (input.files.length) { form.append(`files[${input.name}]`, input.files[0]); files += 1; }
    } else if (input.value !== "") options[input.name] = input.value;
  }
  const free = text.slice(c.path.length + 1).trim();
  const target = c.options.find((o) => o.kind === "string" && o.required);
  if (free && target && !options[target.name]) options[target.name] = free;
  const body = { user: state.me, channel: state.channel, command: c.path, options };
  if (!files) return post("/api/interactions", body);
  form.append("payload_json", JSON.stringify(body));
  return api("/api/interactions", { method: "POST", body: form });
}

async function submit(ev) {
  ev.preventDefault();
  const text = $("#box").value.trim();
  if (!text) return;
  if (!$("#suggestions").hidden && !state.chosen) {
    const li = $("#suggestions").children[state.pick];
    const typedExact = state.commands.some((c) => text.slice(1).startsWith(`${c.path} `) || text.slice(1) === c.path);
    if (li && !typedExact) return choose(state.commands.find((c) => c.path === li.dataset.path));
  }
  showError("");
  $("#send").disabled = true;
  try {
    if (text.startsWith("/")) await runCommand(text);
    else await post("/api/say", { user: state.me, channel: state.channel, content: text });
    resetComposer();
  } catch (err) {
    showError(err.message);
  } finally {
    $("#send").disabled = false;
  }
}

function keys(ev) {
  const list = $("#suggestions");
  if (list.hidden) return;
  const n = list.children.length;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    ev.preventDefault();
    state.pick = (state.pick + (ev.key === "ArrowDown" ? 1 : n - 1)) % n;
    suggest();
  } else if (ev.key === "Tab") {
    ev.preventDefault();
    const li = list.children[state.pick];
    if (li) choose(state.commands.find((c) => c.path === li.dataset.path));
  } else if (ev.key === "Escape") hideSuggestions();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#composer").addEventListener("submit", submit);
  $("#box").addEventListener("input", () => { state.pick = 0; suggest(); });
  $("#box").addEventListener("keydown", keys);
  boot().catch((err) => showError(`Could not load the playground: ${err.message}`));
});
