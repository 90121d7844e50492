/* The desk's own behaviour, on top of htmx: open the provider's page, keyboard shortcuts, and
   a calm notice when the server cannot be reached. No inline scripts (CSP). */
(function () {
  "use strict";

  var popups = {};

  /* Post the hidden form (the two provider tokens) into its iframe or a popup window, then
     take it out of the page: the tokens are used once and leave the DOM. A popup the browser
     blocks leaves the form in place and offers a button (a click is allowed to open one). */
  function openProvider(form) {
    var name = form.getAttribute("target");
    var area = form.closest(".provider");
    if (form.dataset.mode === "popup") {
      var win = window.open("", name, "popup,width=520,height=760");
      var blocked = !win || win.closed || typeof win.closed === "undefined";
      area.querySelector("[data-popup-blocked]").hidden = !blocked;
      area.querySelector("[data-popup-open]").hidden = blocked;
      if (blocked) {
        return;
      }
      popups[name] = win;
      watchPopup(area, win);
    }
    form.submit();
    form.remove();
  }

  /* A closed popup is not a dead end: say so, and offer to reopen the page. */
  function popupClosed(area) {
    var open = area.querySelector("[data-popup-open]");
    if (open) {
      open.textContent = "The payment page's window was closed. The outcome still arrives here.";
    }
    var reopen = area.querySelector("form[data-reopen]");
    if (reopen) {
      reopen.hidden = false;
    }
  }

  function watchPopup(area, win) {
    var timer = setInterval(function () {
      if (!document.body.contains(area)) {
        clearInterval(timer);
      } else if (win.closed) {
        clearInterval(timer);
        popupClosed(area);
      }
    }, 1000);
  }

  /* Opening a session waits for VCC: say so at once, with the seconds going by, and when it
     is slow, how long the desk waits before it gives up (the server then says why). */
  var opening = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("form[data-opening]")) {
      return;
    }
    var note = document.createElement("p");
    note.className = "opening";
    note.setAttribute("role", "status");
    note.textContent = "Opening the secure payment page… ";
    var elapsed = document.createElement("span");
    elapsed.className = "elapsed";
    elapsed.setAttribute("aria-hidden", "true");  // read once, not every second
    note.appendChild(elapsed);
    form.appendChild(note);
    var started = Date.now();
    var budget = Number(form.dataset.opening);
    var slow = false;
    function tick() {
      var seconds = Math.floor((Date.now() - started) / 1000);
      elapsed.textContent = seconds + " s";
      if (seconds >= 3 && !slow && budget) {
        slow = true;
        var more = document.createElement("span");
        more.className = "slow";
        more.textContent = " VCC is slow to answer; the desk waits up to about " + budget + " s.";
        note.appendChild(more);
      }
    }
    tick();
    clearInterval(opening);
    opening = setInterval(tick, 1000);
    form.addEventListener("htmx:afterRequest", function () {
      clearInterval(opening);
      note.remove();
    }, {once: true});
  });

  htmx.onLoad(function (root) {
    var forms = root.querySelectorAll ? root.querySelectorAll("form[data-provider-form]") : [];
    forms.forEach(openProvider);
  });

  document.addEventListener("click", function (event) {
    var open = event.target.closest("[data-open-provider]");
    if (open) {
      var form = open.closest(".provider").querySelector("form[data-provider-form]");
      if (form) {
        openProvider(form);
      }
      return;
    }
    var show = event.target.closest("[data-show-provider]");
    if (show) {
      var win = popups[show.dataset.showProvider];
      if (win && !win.closed) {
        win.focus();
      } else {
        popupClosed(show.closest(".provider"));
      }
    }
  });

  /* Keyboard: "/" goes to the search box; Enter there opens the first match; the arrow keys
     move between matches. */
  document.addEventListener("keydown", function (event) {
    var search = document.getElementById("q");
    if (!search) {
      return;
    }
    var typing = event.target.closest("input, select, textarea, [contenteditable]");
    if (event.key === "/" && !typing) {
      event.preventDefault();
      search.focus();
      search.select();
      return;
    }
    var matches = Array.prototype.slice.call(document.querySelectorAll("#results .match"));
    if (event.target === search && event.key === "Enter") {
      event.preventDefault();
      if (matches.length) {
        htmx.process(matches[0].form);  // results swapped in a moment ago may not be yet
        matches[0].click();
      } else {
        htmx.trigger(search, "search");
      }
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var at = matches.indexOf(event.target);
      if (event.target === search && event.key === "ArrowDown" && matches.length) {
        event.preventDefault();
        matches[0].focus();
      } else if (at >= 0) {
        event.preventDefault();
        var next = at + (event.key === "ArrowDown" ? 1 : -1);
        (next < 0 ? search : matches[Math.min(next, matches.length - 1)]).focus();
      }
    }
  });

  /* Focus follows what changed, when it sat in what was swapped (htmx keeps it on a field of
     the same id) or was dropped (its element, or the provider's page, went away): the first
     field in error; else an outcome's next action; else a new attempt's heading, or the
     details editor's first field. An outcome also takes it from elsewhere in the payment
     area. Never taken from elsewhere (the search box, say). */
  document.addEventListener("htmx:afterSettle", function (event) {
    var settled = event.target;
    var active = document.activeElement;
    var inPaymentArea = settled.id === "payment-status" && active && active.closest("#payment");
    if (active && active !== document.body && !settled.contains(active) && !inPaymentArea) {
      return;
    }
    var next = document.querySelector("#workspace [aria-invalid='true']") ||
      document.querySelector("#payment-status .actions button, #payment-status .actions a");
    if (!next && settled.id === "payment") {
      next = settled.querySelector("h2");
    }
    if (!next && settled.id === "review") {
      next = settled.querySelector("input:not([type=hidden]):not([disabled]), select");
    }
    if (next) {
      next.focus();
    }
  });

  /* The server could not be reached or failed: say so once, quietly; clear it when a request
     gets through again (the status panel keeps polling meanwhile). */
  var banner = null;
  function connection(message) {
    banner = banner || document.getElementById("connection");
    if (!banner) {
      return;
    }
    banner.textContent = message || "";
    banner.hidden = !message;
  }
  document.addEventListener("htmx:sendError", function () {
    connection("The desk cannot reach its server. It keeps trying; nothing you entered is lost.");
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    connection(status === 404 ?
      "That is not there any more (or is not yours)." :
      "The server could not do that (error " + status + "). Try again in a moment.");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) {
      connection("");
    }
  });
})();
