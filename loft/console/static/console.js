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

// Virtual phone: poll the thread and send without leaving the page.
(function phone() {
  const thread = document.getElementById("thread");
  const composer = document.getElementById("composer");
  if (!thread || !composer) return;
  const problem = document.getElementById("phone-error");

  function bubble(message) {
    const box = element("div", "bubble " + (message.mine ? "mine" : "theirs"));
    box.dataset.sid = message.sid;
    box.appendChild(element("div", "text", message.body));
    for (const url of message.media) {
      const line = element("div", "media");
      const link = element("a", "", url);
      link.href = /^https?:\/\//i.test(url) ? url : "#";
      link.rel = "noopener noreferrer"; link.target = "_blank";
      line.appendChild(link); box.appendChild(line);
    }
    box.appendChild(element("div", "meta",
      message.at.replace("T", " ").replace("Z", " UTC") + (message.mine ? " · " + message.status : "")));
    return box;
  }

  function draw(data) {
    const atBottom = thread.scrollTop + thread.clientHeight >= thread.scrollHeight - 40;
    thread.replaceChildren(...data.messages.map(bubble));
    if (!data.messages.length) thread.appendChild(element("p", "muted empty", "No messages yet. Say hello."));
    if (atBottom) thread.scrollTop = thread.scrollHeight;
  }

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const body = new URLSearchParams(new FormData(composer));
    const button = composer.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(composer.action, { method: "POST", body, credentials: "same-origin",
                                                       headers: { Accept: "application/json" } });
      const data = await response.json().catch(() => ({ error: "The server answered " + response.status }));
      if (!response.ok) { problem.textContent = data.error; problem.hidden = false; return; }
      composer.querySelector("textarea").value = "";
      composer.querySelector("input[name=media_urls]").value = "";
      await refresh();
    } finally { button.disabled = false; composer.querySelector("textarea").focus(); }
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
