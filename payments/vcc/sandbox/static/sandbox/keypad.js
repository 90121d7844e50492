// The caller keypad: each key is sent as it is pressed, in order, without reloading the page
// (the page still works without this script: each key is then a form post).
(function () {
  "use strict";
  var form = document.querySelector("form.keypad");
  if (!form) { return; }
  var queue = Promise.resolve();

  function show(state) {
    if (!state.live) { window.location.reload(); return; }
    Object.keys(state.masked).forEach(function (field) {
      var shown = document.getElementById("keyed-" + field);
      if (shown) { shown.textContent = state.masked[field]; }
    });
    document.getElementById("prompt").textContent = state.prompt;
    document.getElementById("call-state").textContent = state.state;
    var problem = document.getElementById("problem");
    if (problem) { problem.textContent = state.problem || ""; }
  }

  function send(key) {
    var body = new FormData(form);
    body.set("key", key);
    return fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) { return response.json(); }).then(show);
  }

  form.querySelectorAll("button[name=key]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      queue = queue.then(function () { return send(button.value); }).catch(function () {});
    });
  });
})();
