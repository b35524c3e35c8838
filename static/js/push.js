// The push section's "Enable on this device": ask permission, register the service worker (/sw.js),
// subscribe with the site's VAPID public key, and hand the subscription to the API; the section is
// then reloaded through htmx to list this browser. Each state the browser can be in is said in words.
(function () {
  "use strict";

  function applicationServerKey(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64);
    var key = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) key[i] = raw.charCodeAt(i);
    return key;
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  // POST the browser's PushSubscription JSON to the API, then show the section again.
  function save(box, subscription) {
    return fetch(box.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": box.dataset.csrf },
      body: JSON.stringify(subscription),
    }).then(function (response) {
      if (response.ok) {
        window.htmx.ajax("GET", box.dataset.refresh + "?done=1", { target: "#section-push", swap: "outerHTML" });
        return response.json();
      }
      return response.json().then(
        function (body) {
          var words = Object.keys(body).map(function (field) { return [].concat(body[field]).join(" "); });
          throw new Error(words.join(" ") || "the site answered " + response.status);
        },
        function () { throw new Error("the site answered " + response.status); }
      );
    });
  }

  function enable(box, button, status) {
    button.disabled = true;
    status.textContent = "Asking your browser…";
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") {
          throw new Error(permission === "denied"
            ? "Notifications are blocked for this site: allow them in your browser's site settings, then try again."
            : "You did not allow notifications, so push stays off.");
        }
        return navigator.serviceWorker.register("/sw.js", { scope: "/" });
      })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        return registration.pushManager.getSubscription().then(function (existing) {
          return existing || registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: applicationServerKey(box.dataset.vapidKey),
          });
        });
      })
      .then(function (subscription) { return save(box, subscription.toJSON()); })
      .catch(function (error) { status.textContent = error.message || String(error); })
      .finally(function () { button.disabled = false; });
  }

  function start(root) {
    var box = root.querySelector && root.querySelector("[data-push]");
    if (!box || box.dataset.started) return;
    box.dataset.started = "yes";
    var button = box.querySelector(".push-enable");
    var status = box.querySelector(".push-status");
    if (!supported()) {
      status.textContent = "This browser cannot get push notifications.";
      return;
    }
    if (Notification.permission === "denied") {
      status.textContent = "Notifications are blocked for this site: allow them in your browser's site settings to turn push on.";
    }
    button.hidden = false;
    button.addEventListener("click", function () { enable(box, button, status); });
  }

  // For pages and tests that already hold a subscription (e.g. made by another push service).
  window.dealAlertsPush = {
    save: function (subscription) { return save(document.querySelector("[data-push]"), subscription); },
  };

  document.addEventListener("DOMContentLoaded", function () { start(document); });
  document.addEventListener("htmx:load", function (event) { start(event.detail.elt); });
})();
