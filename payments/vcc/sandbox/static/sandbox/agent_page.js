// The provider's agent page: shows the caller's progress (masked digits, the step, the outcome)
// by asking the sandbox every few hundred milliseconds. Never sees a digit: only dots.
(function () {
  "use strict";
  var body = document.body;
  var stateUrl = body.dataset.stateUrl;
  var token = body.dataset.token;
  var pollMs = parseInt(body.dataset.pollMs || "300", 10);

  function show(state) {
    Object.keys(state.masked).forEach(function (step) {
      var output = document.getElementById("masked-" + step);
      if (output) { output.textContent = state.masked[step]; }
    });
    document.querySelectorAll(".step").forEach(function (item) {
      item.classList.toggle("current", item.dataset.step === state.step);
    });
    document.getElementById("prompt").textContent = state.prompt;
    document.getElementById("submit-payment").disabled = !state.ready;
    var outcome = document.getElementById("outcome");
    outcome.textContent = state.expired ? "This payment page has expired." : state.outcome;
    outcome.className = "outcome" + (state.decision ? " decision-" + state.decision.toLowerCase() : "");
    return state.finished || state.expired;
  }

  function poll() {
    fetch(stateUrl, { headers: { "X-BEARER-TOKEN": token }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && show(state)) { return; }
        window.setTimeout(poll, pollMs);
      })
      .catch(function () { window.setTimeout(poll, pollMs * 3); });
  }

  window.setTimeout(poll, pollMs);
})();
