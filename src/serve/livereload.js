// kb serve live reload: injected by `kb serve` into every HTML page it serves (never into
// `kb build` output). Listens on /_kb/livereload and
// - reloads this page when it changed (keeping the scroll position),
// - swaps changed stylesheets and images in place, without a reload,
// - shows build problems (file:line) in an overlay until they are fixed.
(function () {
  "use strict";
  if (window.__kbLiveReload) return;
  var state = (window.__kbLiveReload = { connected: false, generation: -1, messages: 0 });
  var here = decodeURIComponent(location.pathname).replace(/index\.html$/, "");
  var scrollKey = "kb-livereload-scroll:" + here;

  // Restore the scroll position saved just before a live reload.
  try {
    var saved = sessionStorage.getItem(scrollKey);
    if (saved !== null) {
      sessionStorage.removeItem(scrollKey);
      var restore = function () { window.scrollTo(0, parseInt(saved, 10) || 0); };
      if (document.readyState === "complete") restore(); else window.addEventListener("load", restore);
    }
  } catch (e) {}

  function reload() {
    try { sessionStorage.setItem(scrollKey, String(window.scrollY)); } catch (e) {}
    location.reload();
  }

  function pathOf(url) {
    try { return decodeURIComponent(new URL(url, location.href).pathname); } catch (e) { return ""; }
  }

  function bust(url) {
    var u = new URL(url, location.href);
    u.searchParams.set("kb-livereload", String(Date.now()));
    return u.toString();
  }

  // Swap a stylesheet: load the new one next to the old, drop the old once it applies, so the
  // page never flashes unstyled and keeps its scroll position.
  function swapCss(paths) {
    var links = document.querySelectorAll('link[rel="stylesheet"]');
    Array.prototype.forEach.call(links, function (link) {
      if (paths.indexOf(pathOf(link.href)) < 0) return;
      var next = link.cloneNode();
      next.href = bust(link.href);
      next.addEventListener("load", function () { link.remove(); });
      next.addEventListener("error", function () { link.remove(); });
      link.after(next);
    });
  }

  function swapAssets(paths) {
    Array.prototype.forEach.call(document.images, function (img) {
      if (paths.indexOf(pathOf(img.src)) >= 0) img.src = bust(img.src);
    });
  }

  var overlay = null;
  function showProblems(problems) {
    var shown = problems.filter(function (p) {
      return p.severity === "error" || (p.url && decodeURIComponent(p.url) === here);
    });
    if (overlay) { overlay.remove(); overlay = null; }
    if (!shown.length) return;
    overlay = document.createElement("div");
    overlay.id = "kb-livereload-problems";
    overlay.setAttribute("role", "alert");
    overlay.style.cssText =
      "position:fixed;left:12px;right:12px;bottom:12px;z-index:2147483647;max-height:45vh;overflow:auto;" +
      "background:#1d1f21;color:#f3f3f3;border-left:6px solid #e5484d;border-radius:6px;padding:12px 16px;" +
      "font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;box-shadow:0 6px 24px rgba(0,0,0,.35)";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", "close");
    close.style.cssText = "float:right;background:none;border:0;color:inherit;font-size:18px;cursor:pointer";
    close.onclick = function () { overlay.remove(); overlay = null; };
    overlay.appendChild(close);
    var title = document.createElement("div");
    title.style.cssText = "font-weight:bold;margin-bottom:6px";
    title.textContent = "kb serve: " + shown.length + (shown.length === 1 ? " problem" : " problems");
    overlay.appendChild(title);
    shown.forEach(function (p) {
      var row = document.createElement("div");
      row.className = "kb-livereload-problem";
      row.style.cssText = "margin:6px 0;white-space:pre-wrap";
      var where = document.createElement("span");
      where.style.color = p.severity === "error" ? "#ff8a8a" : "#f5c46b";
      where.textContent = p.path + (p.line ? ":" + p.line : "") + ": " + p.severity + ": ";
      row.appendChild(where);
      row.appendChild(document.createTextNode(p.message));
      if (p.hint) {
        var hint = document.createElement("div");
        hint.style.cssText = "color:#a8b3bd;margin-left:2ch";
        hint.textContent = "hint: " + p.hint;
        row.appendChild(hint);
      }
      overlay.appendChild(row);
    });
    (document.body || document.documentElement).appendChild(overlay);
  }

  function handle(msg) {
    state.messages += 1;
    if (typeof msg.generation === "number") state.generation = msg.generation;
    switch (msg.kind) {
      case "reload":
        if (msg.paths.indexOf("*") >= 0 || msg.paths.indexOf(here) >= 0) reload();
        break;
      case "css":
        swapCss(msg.paths);
        break;
      case "asset":
        swapAssets(msg.paths);
        break;
      case "problems":
        if (document.body) showProblems(msg.problems);
        else document.addEventListener("DOMContentLoaded", function () { showProblems(msg.problems); });
        break;
    }
  }

  var wasConnected = false;
  var delay = 250;
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/_kb/livereload");
    ws.onopen = function () {
      state.connected = true;
      delay = 250;
      // The server restarted while we were away: the page may be out of date.
      if (wasConnected) reload();
      wasConnected = true;
    };
    ws.onmessage = function (ev) {
      try { handle(JSON.parse(ev.data)); } catch (e) {}
    };
    ws.onclose = function () {
      state.connected = false;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 5000);
    };
  }
  connect();
})();
