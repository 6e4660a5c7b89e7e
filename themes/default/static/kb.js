// kb site script: theme toggle, copy buttons, table-of-contents tracking. No dependencies.
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

  // Highlight the ToC entry of the section being read.
  var links = document.querySelectorAll(".kb-toc a[href^='#']");
  if (links.length && "IntersectionObserver" in window) {
    var byId = {};
    links.forEach(function (a) { byId[decodeURIComponent(a.getAttribute("href").slice(1))] = a; });
    var current = null;
    var obs = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) {
        if (en.isIntersecting && byId[en.target.id]) {
          if (current) current.classList.remove("kb-active");
          current = byId[en.target.id];
          current.classList.add("kb-active");
        }
      });
    }, { rootMargin: "-60px 0px -70% 0px" });
    Object.keys(byId).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) obs.observe(el);
    });
  }
})();
