// kb site script: theme toggle, copy buttons, menu, table-of-contents tracking. No dependencies.
(function () {
  "use strict";
  var root = document.documentElement;

  document.addEventListener("click", function (e) {
    var toggle = e.target.closest(".kb-theme-toggle");
    if (toggle) {
      var next = root.getAttribute("data-theme") === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("kb-theme", next); } catch (err) {}
      return;
    }
    var copy = e.target.closest(".kb-copy");
    if (copy) {
      var block = copy.closest(".kb-code");
      var code = block && block.querySelector("pre code");
      if (!code) return;
      var text;
      if (block.getAttribute("data-lang") === "console") {
        // Copy only the commands of a transcript.
        text = Array.prototype.map.call(code.querySelectorAll(".kb-cmd"), function (c) { return c.textContent; }).join("\n");
      } else {
        text = code.textContent;
      }
      var done = function () {
        copy.textContent = "已复制";
        copy.classList.add("kb-copied");
        setTimeout(function () { copy.textContent = "复制"; copy.classList.remove("kb-copied"); }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var ta = document.createElement("textarea");
        ta.value = text;
        document.body.appendChild(ta);
        ta.select();
        try { document.execCommand("copy"); done(); } catch (err) {}
        ta.remove();
      }
    }
  });

  // Escape closes the menu.
  document.addEventListener("keydown", function (e) {
    var menu = document.querySelector(".kb-menu[open]");
    if (e.key === "Escape" && menu) { menu.open = false; menu.querySelector("summary").focus(); }
  });

  // The menu button also shows on wide screens when the top nav cannot show every section.
  var sections = document.querySelector(".kb-nav-sections");
  var fit = function () {
    if (sections) root.classList.toggle("kb-nav-more", sections.scrollHeight > sections.clientHeight + 1);
  };
  fit();
  addEventListener("resize", fit);

  // Mark the ToC entry (column and top-of-note block) of the section being read: the last
  // heading above the top of the screen; after a jump (#id, #snippet-N), the heading the
  // target is under, until the reader scrolls.
  var links = document.querySelectorAll(".kb-toc a[href^='#'], .kb-toc-inline a[href^='#']");
  if (!links.length) return;
  var byId = {}, heads = [];
  links.forEach(function (a) {
    var id = decodeURIComponent(a.getAttribute("href").slice(1));
    if (!byId[id]) {
      byId[id] = [];
      var h = document.getElementById(id);
      if (h) heads.push(h);
    }
    byId[id].push(a);
  });
  var active = [], pinnedAt = null;
  var mark = function (h) {
    active.forEach(function (a) { a.classList.remove("kb-active"); });
    active = h ? byId[h.id] || [] : [];
    active.forEach(function (a) { a.classList.add("kb-active"); });
  };
  var update = function () {
    if (pinnedAt !== null && Math.abs(scrollY - pinnedAt) < 4) return;
    pinnedAt = null;
    var top = parseFloat(getComputedStyle(root).scrollPaddingTop) || 72, cur = null;
    for (var i = 0; i < heads.length && heads[i].getBoundingClientRect().top <= top + 8; i++) cur = heads[i];
    mark(cur);
  };
  var jump = function () {
    var t = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!t) return update();
    var cur = null;
    heads.forEach(function (h) { if (h === t || h.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING) cur = h; });
    mark(cur);
    pinnedAt = scrollY;
  };
  var queued = false;
  addEventListener("scroll", function () {
    if (!queued) { queued = true; requestAnimationFrame(function () { queued = false; update(); }); }
  }, { passive: true });
  addEventListener("hashchange", jump);
  addEventListener("load", function () { if (location.hash) jump(); });
  jump();
})();
