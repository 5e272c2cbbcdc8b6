// Keyboard shortcuts for the review pages. No framework: plain DOM.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT" || el.isContentEditable);
  }
  function go(href) { if (href) { window.location.href = href; } }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table.list tbody tr[data-href]")); }
  function moveSelection(step) {
    var all = rows(); if (!all.length) return;
    var i = all.findIndex(function (r) { return r.classList.contains("selected"); });
    if (i >= 0) all[i].classList.remove("selected");
    i = Math.min(all.length - 1, Math.max(0, i + step));
    all[i].classList.add("selected");
    all[i].scrollIntoView({ block: "nearest" });
  }
  function submit(decision) {
    var form = document.getElementById("decide");
    var button = document.getElementById(decision);
    if (form && button) { button.click(); }  // a click, so htmx sends the button's decision value
  }
  document.addEventListener("click", function (ev) {
    var use = ev.target.closest(".use-candidate");
    if (use) {
      var editor = document.getElementById("editor");
      editor.value = use.getAttribute("data-text");
      editor.dispatchEvent(new Event("input", { bubbles: true }));
      editor.focus();
      return;
    }
    var follow = ev.target.closest(".append-follow-up");
    if (follow) {
      var box = document.getElementById("editor");
      box.value = (box.value.replace(/\s+$/, "") + " " + follow.getAttribute("data-text")).trim();
      box.dispatchEvent(new Event("input", { bubbles: true }));
      follow.disabled = true;
      return;
    }
    var row = ev.target.closest("tr[data-href]");
    if (row && !ev.target.closest("a, button, input, select, textarea")) { go(row.getAttribute("data-href")); }
  });
  // Autosave answers 404/409/422 with a short message for #save-state: show it.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    if (ev.detail.target && ev.detail.target.id === "save-state" && ev.detail.xhr.status >= 400) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });
  document.addEventListener("keydown", function (ev) {
    var el = document.activeElement;
    if (typing(el)) {
      if (el.id === "editor" && ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit("accept"); }
      else if (ev.key === "Escape") { el.blur(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var k = ev.key;
    if (k === "e") { var ed = document.getElementById("editor"); if (ed) { ev.preventDefault(); ed.focus(); ed.setSelectionRange(ed.value.length, ed.value.length); } }
    else if (k === "a") { submit("accept"); }
    else if (k === "r") { submit("reject"); }
    else if (k === "n") { var next = document.getElementById("next-link"); if (next) go(next.href); }
    else if (k === "w") { go("/review"); }
    else if (k === "g") { go("/dashboard"); }
    else if (k === "j") { moveSelection(1); }
    else if (k === "k") { moveSelection(-1); }
    else if (k === "Enter") { var sel = document.querySelector("tr.selected[data-href]"); if (sel) go(sel.getAttribute("data-href")); }
    else if (/^[1-9]$/.test(k)) {
      var b = document.querySelector('.use-candidate[data-candidate="' + (parseInt(k, 10) - 1) + '"]');
      if (b) b.click();
    }
  });
})();
