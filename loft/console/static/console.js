// Loft console: small progressive enhancements. Every page works without this file.
"use strict";

function copyText(text, button) {
  const done = () => { const label = button.textContent; button.textContent = "Copied"; setTimeout(() => { button.textContent = label; }, 1200); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => {});
  } else {
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); done(); } finally { area.remove(); }
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (source) copyText(source.textContent, button);
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

document.addEventListener("change", (event) => {
  const select = event.target.closest("#account-switcher select");
  if (select) select.form.requestSubmit();  // the switcher acts on a pick; its button is there without scripts
});

// Live pages: fetch the page's JSON twin every second and redraw it when it changed.
function live(source, draw) {
  let shown = "";
  async function refresh() {
    try {
      const response = await fetch(source, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok || !(response.headers.get("content-type") || "").includes("json")) return;
      const data = await response.json();
      const signature = JSON.stringify(data);
      if (signature === shown) return;
      shown = signature;
      draw(data);
    } catch (error) { /* the next poll tries again */ }
  }
  refresh();
  setInterval(refresh, 1000);
  return refresh;
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;  // untrusted: always text, never HTML
  return made;
}

// Virtual phone: poll the thread and send without leaving the page; draw RCS messages (cards, carousels, quick
// replies …) from their content, and send a tap on a quick reply as the handset's message (the same form post as
// the page's own, so it works without this script too).
(function phone() {
  const thread = document.getElementById("thread");
  const composer = document.getElementById("composer");
  if (!thread || !composer) return;
  const problem = document.getElementById("phone-error");
  const web = (url) => typeof url === "string" && /^https?:\/\//i.test(url);

  function field(name, value) {
    const input = element("input");
    input.type = "hidden"; input.name = name; input.value = value;
    return input;
  }

  // A tap: a form like the composer's (its CSRF token, handset and number) with the action's id and title.
  function tap(payload, title, className) {
    const form = element("form", "tap");
    form.method = "post"; form.action = composer.action;
    for (const name of ["csrf_token", "handset", "number"]) {
      const source = composer.querySelector(`input[name=${name}]`);
      if (source) form.appendChild(field(name, source.value));
    }
    form.append(field("button_payload", payload), field("button_text", title));
    const button = element("button", className, title);
    button.type = "submit";
    form.appendChild(button);
    return form;
  }

  function action(a) {
    if (a.type === "QUICK_REPLY") return tap(a.id, a.title, "action reply");
    if (a.type === "URL" && web(a.url)) {
      const link = element("a", "action link", a.title);
      link.href = a.url; link.target = "_blank"; link.rel = "noopener noreferrer";
      return link;
    }
    if (a.type === "PHONE_NUMBER") return element("span", "action call", a.title + " · " + a.phone);
    if (a.type === "COPY_CODE") return element("span", "action code", a.title + " · " + a.code);
    return element("span", "action", a.title);
  }

  function images(into, media) {
    for (const url of media) {
      if (!web(url)) continue;
      const image = element("img", "rcs-media");
      image.src = url; image.alt = ""; image.loading = "lazy";
      into.appendChild(image);
    }
  }

  function row(className, entries, draw, tag) {
    const box = element(tag || "div", className);
    for (const entry of entries) box.appendChild(draw(entry));
    return box;
  }

  function card(c) {
    const box = element("div", "rcs-card");
    images(box, c.media);
    if (c.title) box.appendChild(element("div", "rcs-title", c.title));
    if (c.subtitle) box.appendChild(element("div", "rcs-subtitle", c.subtitle));
    if (c.body) box.appendChild(element("div", "text", c.body));
    if (c.actions.length) box.appendChild(row("rcs-actions", c.actions, action));
    return box;
  }

  // The content as the server hands it (loft/console/rich.py): every field there, of its kind.
  function rich(box, c) {
    if (c.type === "twilio/card") { box.appendChild(card(c)); return; }
    if (c.type === "twilio/carousel") {
      if (c.body) box.appendChild(element("div", "text", c.body));
      box.appendChild(row("carousel", c.cards, card));
      return;
    }
    if (c.type === "twilio/list-picker") {
      if (c.body) box.appendChild(element("div", "text", c.body));
      if (c.button) box.appendChild(element("div", "rcs-subtitle", c.button));
      box.appendChild(row("list-picker", c.items, (item) => {
        const line = element("li");
        line.appendChild(tap(item.id, item.item, "action item"));
        if (item.description) line.appendChild(element("small", "", item.description));
        return line;
      }, "ul"));
      return;
    }
    images(box, c.media);
    if (c.body) box.appendChild(element("div", "text", c.body));
    if (c.type === "twilio/call-to-action" && c.actions.length) box.appendChild(row("rcs-actions", c.actions, action));
    if (c.type === "twilio/quick-reply" && c.actions.length) {
      box.appendChild(row("chips", c.actions, (a) => tap(a.id, a.title, "chip")));
    }
  }

  function bubble(message) {
    const box = element("div", "bubble " + (message.mine ? "mine" : "theirs") + (message.content ? " rich" : ""));
    box.dataset.sid = message.sid;
    box.dataset.channel = message.channel;
    if (message.content) rich(box, message.content);
    else box.appendChild(element("div", "text", message.body));
    for (const url of message.media) {
      const line = element("div", "media");
      const link = element("a", "", url);
      link.href = web(url) ? url : "#";
      link.rel = "noopener noreferrer"; link.target = "_blank";
      line.appendChild(link); box.appendChild(line);
    }
    box.appendChild(element("div", "meta",
      message.at.replace("T", " ").replace("Z", " UTC") + (message.channel === "rcs" ? " · RCS" : "")
      + (message.tap ? " · tapped" : "") + (message.mine ? " · " + message.status : "")));
    return box;
  }

  // A phone sends a read receipt for an RCS message once it is on its screen: this one does for each message still
  // unread (delivered) while the page is visible, once per message.
  let shown = [];
  const asked = new Set();
  async function readShown() {
    if (document.visibilityState !== "visible") return;
    const unread = shown.filter((m) => m.unread && !asked.has(m.sid));
    if (!unread.length) return;
    const form = new URLSearchParams();
    for (const name of ["csrf_token", "handset"]) {
      const source = composer.querySelector(`input[name=${name}]`);
      if (source) form.append(name, source.value);
    }
    for (const m of unread) { asked.add(m.sid); form.append("sid", m.sid); }
    try {
      await fetch(thread.dataset.read, { method: "POST", body: form, credentials: "same-origin",
                                         headers: { Accept: "application/json" } });
    } catch (error) { for (const m of unread) asked.delete(m.sid); /* the next draw tries again */ }
  }
  document.addEventListener("visibilitychange", readShown);

  function draw(data) {
    const atBottom = thread.scrollTop + thread.clientHeight >= thread.scrollHeight - 40;
    thread.replaceChildren(...data.messages.map(bubble));
    if (!data.messages.length) thread.appendChild(element("p", "muted empty", "No messages yet. Say hello."));
    if (atBottom) thread.scrollTop = thread.scrollHeight;
    shown = data.messages;
    readShown();
  }

  // The composer and every tap post their form, and the thread is fetched again at once.
  async function post(form, button) {
    problem.hidden = true;
    button.disabled = true;
    try {
      const response = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)),
                                                   credentials: "same-origin", headers: { Accept: "application/json" } });
      const data = await response.json().catch(() => ({ error: "The server answered " + response.status }));
      if (!response.ok) {
        problem.textContent = data.error + (data.code ? " (error " + data.code + ")" : "");
        problem.hidden = false;
        return false;
      }
      await refresh();
      return true;
    } finally { button.disabled = false; }
  }

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      if (await post(composer, composer.querySelector("button[type=submit]"))) {
        composer.querySelector("textarea").value = "";
        composer.querySelector("input[name=media_urls]").value = "";
      }
    } finally { composer.querySelector("textarea").focus(); }
  });

  thread.addEventListener("submit", (event) => {
    const form = event.target.closest("form.tap");
    if (!form) return;
    event.preventDefault();
    post(form, form.querySelector("button"));
  });

  composer.querySelector("textarea").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); composer.requestSubmit(); }
  });

  thread.scrollTop = thread.scrollHeight;
  const refresh = live(thread.dataset.src, draw);
})();

// Message log: new messages and status changes appear without a reload.
(function messageLog() {
  const log = document.getElementById("message-log");
  if (!log || !log.dataset.src) return;
  const table = log.querySelector("table");
  const rows = table.querySelector("tbody");
  const previous = log.querySelector(".pager a[rel=prev]");
  const next = log.querySelector(".pager a[rel=next]");

  function line(message) {
    const row = element("tr");
    row.dataset.sid = message.sid;
    const when = element("td");
    const link = element("a", "", message.when);
    link.href = "/console/messages/" + encodeURIComponent(message.sid);
    when.appendChild(link);
    const body = element("td", "body", message.excerpt);
    if (message.num_media) { body.append(" "); body.appendChild(element("span", "badge", message.num_media + " media")); }
    const status = element("td");
    status.appendChild(element("span", "badge " + message.status, message.status));
    if (message.error_code) { status.append(" "); status.appendChild(element("small", "", String(message.error_code))); }
    row.append(when, element("td", "", message.direction), element("td", "", message.from), element("td", "", message.to),
               body, status);
    return row;
  }

  function pager(link, href) {
    link.hidden = !href;
    link.setAttribute("href", href || "");
  }

  live(log.dataset.src, (data) => {
    rows.replaceChildren(...data.messages.map(line));
    table.hidden = !data.messages.length;
    const empty = log.querySelector("p.empty");
    if (data.messages.length && empty) empty.remove();
    if (!data.messages.length && !empty) table.after(element("p", "muted empty", log.dataset.empty));
    pager(previous, data.previous);
    pager(next, data.next);
  });
})();
