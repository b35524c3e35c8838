// The phone section's "Send a new code" button waits out the resend delay the server gave it
// (data-resend-after, seconds), counting down beside it. Without this script the button stays
// enabled and the server answers an early resend with the seconds left.
(function () {
  function countDown(button) {
    if (button.dataset.counting) return;
    var left = parseInt(button.dataset.resendAfter, 10) || 0;
    var note = button.parentElement.querySelector(".resend-wait");
    if (left <= 0) return;
    button.dataset.counting = "yes";
    button.disabled = true;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        if (note) note.textContent = "";
        delete button.dataset.counting;
        return;
      }
      if (note) note.textContent = "You can ask again in " + left + " s";
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  }

  function start(root) {
    root.querySelectorAll("button[data-resend-after]").forEach(countDown);
  }

  document.addEventListener("DOMContentLoaded", function () { start(document); });
  // htmx fires htmx:load on each piece of content it swaps in.
  document.addEventListener("htmx:load", function (event) { start(event.target); });
})();
