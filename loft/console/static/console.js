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

// Virtual phone: poll the thread and send without leaving the page.
(function phone() {
  const thread = document.getElementById("thread");
  const composer = document.getElementById("composer");
  if (!thread || !composer) return;
  const problem = document.getElementById("phone-error");
  let shown = "";

  function bubble(message) {
    const box = document.createElement("div");
    box.className = "bubble " + (message.mine ? "mine" : "theirs");
    box.dataset.sid = message.sid;
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = message.body;            // untrusted: always text, never HTML
    box.appendChild(text);
    for (const url of message.media) {
      const line = document.createElement("div");
      line.className = "media";
      const link = document.createElement("a");
      link.textContent = url;
      link.href = /^https?:\/\//i.test(url) ? url : "#";
      link.rel = "noopener noreferrer"; link.target = "_blank";
      line.appendChild(link); box.appendChild(line);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = message.at.replace("T", " ").replace("Z", " UTC") + (message.mine ? " · " + message.status : "");
    box.appendChild(meta);
    return box;
  }

  async function refresh() {
    try {
      const response = await fetch(thread.dataset.src, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok || !(response.headers.get("content-type") || "").includes("json")) return;
      const data = await response.json();
      const signature = JSON.stringify(data.messages);
      if (signature === shown) return;
      shown = signature;
      const atBottom = thread.scrollTop + thread.clientHeight >= thread.scrollHeight - 40;
      thread.replaceChildren(...data.messages.map(bubble));
      if (!data.messages.length) {
        const empty = document.createElement("p"); empty.className = "muted empty"; empty.textContent = "No messages yet. Say hello.";
        thread.appendChild(empty);
      }
      if (atBottom) thread.scrollTop = thread.scrollHeight;
    } catch (error) { /* the next poll tries again */ }
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
  refresh();
  setInterval(refresh, 1000);
})();
