// Draws messages as Discord does: markdown basics, mentions, timestamps, embeds, files, components.
"use strict";

const Render = (() => {
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  function relative(unix) {
    const diff = unix - Date.now() / 1000;
    const fmt = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
    const steps = [[60, "second"], [3600, "minute"], [86400, "hour"], [2592000, "day"], [31536000, "month"], [Infinity, "year"]];
    let unit = 1;
    for (const [limit, name] of steps) {
      if (Math.abs(diff) < limit) return fmt.format(Math.round(diff / unit), name);
      unit = limit;
    }
    return "";
  }

  function stamp(unix, style) {
    const d = new Date(unix * 1000);
    const styles = {
      t: { timeStyle: "short" }, T: { timeStyle: "medium" }, d: { dateStyle: "short" }, D: { dateStyle: "long" },
      f: { dateStyle: "long", timeStyle: "short" }, F: { dateStyle: "full", timeStyle: "short" },
    };
    if (style === "R") return relative(unix);
    return d.toLocaleString("en", styles[style] || styles.f);
  }

  // Discord markdown, the common part. Input is raw text; output is safe HTML.
  function markdown(text, world) {
    const held = [];
    const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
    let s = String(text ?? "");
    s = s.replace(/```(?:[a-z0-9]*\n)?([\s\S]*?)```/g, (_, code) => hold(`<pre class="codeblock">${esc(code)}</pre>`));
    s = s.replace(/\\([\\*_`~|>#<:\-\[\]()])/g, (_, c) => hold(esc(c)));  // \* is a plain star
    s = s.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${esc(code)}</code>`));
    s = s.replace(/<t:(-?\d+)(?::([tTdDfFR]))?>/g, (_, unix, style) =>
      hold(`<span class="ts" data-unix="${esc(unix)}" data-style="${esc(style || "f")}" title="${esc(new Date(unix * 1000).toString())}">${esc(stamp(Number(unix), style || "f"))}</span>`));
    s = s.replace(/<@!?(\d+)>/g, (_, id) => hold(`<span class="mention">@${esc(world.nameOf(id))}</span>`));
    s = s.replace(/<@&(\d+)>/g, (_, id) => hold(`<span class="mention">@${esc(world.roleOf(id))}</span>`));
    s = s.replace(/<#(\d+)>/g, (_, id) => hold(`<span class="mention">#${esc(world.channelOf(id))}</span>`));
    s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g, (_, label, url) =>
      hold(`<a href="${esc(url)}" target="_blank" rel="noopener">${esc(label)}</a>`));
    s = s.replace(/https:\/\/discord\.com\/channels\/\d+\/(\d+)\/(\d+)/g, (_, channel, id) =>
      hold(`<a class="jump" href="#m-${esc(id)}" data-channel="${esc(channel)}">#${esc(world.channelOf(channel))} › message</a>`));
    s = s.replace(/<?(https?:\/\/[^\s<>]+)>?/g, (_, url) => hold(`<a href="${esc(url)}" target="_blank" rel="noopener">${esc(url)}</a>`));
    s = esc(s);
    s = s.replace(/\*\*([\s\S]+?)\*\*/g, "<strong>$1</strong>");
    s = s.replace(/__([\s\S]+?)__/g, "<u>$1</u>");
    s = s.replace(/(^|[^\\*])\*([^*\n]+)\*/g, "$1<em>$2</em>");
    s = s.replace(/(^|\W)_([^_\n]+)_(?=\W|$)/g, "$1<em>$2</em>");
    s = s.replace(/~~([\s\S]+?)~~/g, "<s>$1</s>");
    s = s.replace(/^-# (.*)$/gm, '<small class="subtext">$1</small>');
    s = s.replace(/^#{1,3} (.*)$/gm, "<strong>$1</strong>");
    s = s.replace(/^(?:&gt; ?(.*)(?:\n|$))+/gm, (block) =>
      `<blockquote>${block.replace(/^&gt; ?/gm, "").replace(/\n$/, "")}</blockquote>`);
    return s.replace(/\u0000(\d+)\u0000/g, (_, i) => held[Number(i)]);
  }

  const el = (tag, cls, html) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (html !== undefined) node.innerHTML = html;
    return node;
  };

  function colorOf(id) {
    const palette = ["#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#747f8d", "#00a8fc"];
    let h = 0;
    for (const c of String(id)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return palette[h % palette.length];
  }

  function size(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1048576).toFixed(1)} MB`;
  }

  function embed(e, world) {
    const box = el("div", "embed");
    if (e.color) box.style.borderLeftColor = `#${e.color.toString(16).padStart(6, "0")}`;
    if (e.thumbnail?.url) box.append(Object.assign(el("img", "e-thumb"), { src: e.thumbnail.url, alt: "" }));
    if (e.author?.name) box.append(el("div", "e-author", esc(e.author.name)));
    if (e.title) {
      const title = el("div", "e-title", e.url ? `<a href="${esc(e.url)}" target="_blank" rel="noopener">${markdown(e.title, world)}</a>` : markdown(e.title, world));
      box.append(title);
    }
    if (e.description) box.append(el("div", "e-desc", markdown(e.description, world)));
    if (e.fields?.length) {
      const fields = el("div", "e-fields");
      for (const f of e.fields) {
        const field = el("div", `e-field${f.inline ? " inline" : ""}`);
        field.append(el("div", "n", markdown(f.name, world)), el("div", "v", markdown(f.value, world)));
        fields.append(field);
      }
      box.append(fields);
    }
    if (e.image?.url) box.append(Object.assign(el("img", "e-image"), { src: e.image.url, alt: "" }));
    const foot = [e.footer?.text, e.timestamp ? new Date(e.timestamp).toLocaleString("en") : null].filter(Boolean);
    if (foot.length) box.append(el("div", "e-footer", foot.map(esc).join(" • ")));
    return box;
  }

  function attachment(a) {
    if (a.image) {
      const link = Object.assign(el("a"), { href: a.url, target: "_blank", rel: "noopener" });
      const img = Object.assign(el("img"), { src: a.url, alt: a.filename });
      img.addEventListener("load", () => img.classList.toggle("tiny", img.naturalWidth < 64));
      link.append(img);
      return link;
    }
    const box = el("div", "file");
    box.append(el("span", "icon", "📄"));
    const info = el("div");
    info.append(Object.assign(el("a", "open"), { href: a.url, target: "_blank", rel: "noopener", textContent: a.filename }));
    info.append(el("div", "size", `${esc(size(a.size))} · <a href="${esc(a.url)}?download=1" download>download</a>`));
    box.append(info);
    return box;
  }

  function emojiOf(c) {
    return c.emoji ? `${c.emoji.name || ""} ` : "";
  }

  function button(c, act) {
    if (c.style === 5 && c.url) {
      return Object.assign(el("a", "btn s5", `${esc(emojiOf(c))}${esc(c.label || "")} ↗`), { href: c.url, target: "_blank", rel: "noopener" });
    }
    const b = el("button", `btn s${c.style || 2}`, `${esc(emojiOf(c))}${esc(c.label || "")}`);
    b.type = "button";
    b.disabled = !!c.disabled;
    b.dataset.customId = c.custom_id || "";
    b.addEventListener("click", () => act.click(c.custom_id, null, b));
    return b;
  }

  function select(c, world, act) {
    const s = el("select");
    s.disabled = !!c.disabled;
    s.multiple = (c.max_values || 1) > 1;
    s.dataset.customId = c.custom_id;
    const placeholder = Object.assign(el("option"), { value: "", textContent: c.placeholder || "Make a selection", disabled: true, selected: true });
    if (!s.multiple) s.append(placeholder);
    let options = c.options || [];
    if (c.type === 5) options = world.members.map((m) => ({ label: m.name, value: m.id }));
    if (c.type === 6) options = world.roles.map((r) => ({ label: r.name, value: r.id }));
    if (c.type === 7) options = [...world.members.map((m) => ({ label: m.name, value: m.id })), ...world.roles.map((r) => ({ label: `@${r.name}`, value: r.id }))];
    if (c.type === 8) options = world.channels.map((ch) => ({ label: `#${ch.name}`, value: ch.id }));
    for (const o of options) {
      s.append(Object.assign(el("option"), { value: o.value, textContent: `${emojiOf(o)}${o.label}`, title: o.description || "" }));
    }
    s.addEventListener("change", () => act.click(c.custom_id, [...s.selectedOptions].map((o) => o.value).filter(Boolean), s));
    return s;
  }

  function components(list, world, act, into) {
    for (const c of list || []) {
      if (c.type === 1) {
        const row = el("div", "row");
        components(c.components, world, act, row);
        into.append(row);
      } else if (c.type === 2) into.append(button(c, act));
      else if ([3, 5, 6, 7, 8].includes(c.type)) into.append(select(c, world, act));
      else if (c.type === 10) into.append(el("div", "content", markdown(c.content, world)));
      else if (c.type === 9) {
        components(c.components, world, act, into);
        if (c.accessory) components([c.accessory], world, act, into);
      } else if (c.type === 17) {
        const box = el("div", "embed");
        components(c.components, world, act, box);
        into.append(box);
      } else if (c.type === 12) {
        for (const item of c.items || []) into.append(Object.assign(el("img", "e-image"), { src: item.media?.url, alt: "" }));
      } else if (c.type === 14) into.append(el("hr"));
    }
  }

  function message(m, ctx) {
    const node = el("div", `msg${m.ephemeral ? " ephemeral" : ""}`);
    node.dataset.id = m.id;
    node.id = `m-${m.id}`;
    if (m.interaction) node.append(el("div", "used", `${esc(m.interaction.user)} used <span class="cmd">/${esc(m.interaction.name)}</span>`));
    const avatar = el("div", "avatar", esc((m.author.name || "?")[0].toUpperCase()));
    avatar.style.background = colorOf(m.author.id);
    node.append(avatar);
    const head = el("div", "head");
    head.append(el("span", "author", esc(m.author.name)));
    if (m.author.bot) head.append(el("span", "app-tag", "APP"));
    const when = new Date(m.timestamp);
    head.append(Object.assign(el("time", "", esc(when.toLocaleTimeString("en", { timeStyle: "short" }))), { title: when.toString() }));
    node.append(head);
    if (m.loading) node.append(el("div", "content thinking", `${esc(m.author.name)} is thinking…`));
    else if (m.content) {
      const content = el("div", "content", markdown(m.content, ctx.world));
      if (m.edited) content.append(el("span", "edited", " (edited)"));
      node.append(content);
    } else if (m.edited) node.append(el("span", "edited", "(edited)"));
    for (const e of m.embeds) node.append(embed(e, ctx.world));
    if (m.attachments.length) {
      const files = el("div", "attachments");
      for (const a of m.attachments) files.append(attachment(a));
      node.append(files);
    }
    if (m.components.length) {
      const box = el("div", "components");
      components(m.components, ctx.world, { click: (id, values, source) => ctx.act(m.id, id, values, source) }, box);
      node.append(box);
    }
    if (m.ephemeral) {
      const note = el("div", "note", "👁 Only you can see this • ");
      const dismiss = el("a", "", "Dismiss message");
      dismiss.addEventListener("click", () => node.remove());
      note.append(dismiss);
      node.append(note);
    }
    return node;
  }

  // Relative timestamps count on by themselves, as in Discord's app (status messages rely on it).
  function tick(root = document) {
    for (const span of root.querySelectorAll('.ts[data-style="R"]')) span.textContent = relative(Number(span.dataset.unix));
  }
  if (typeof document !== "undefined") setInterval(() => tick(), 1000);

  return { markdown, message, esc, stamp, tick };
})();
