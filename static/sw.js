/* Deal Alerts' service worker: shows each deal pushed to this browser and opens it on click.
   Served at /sw.js (scope: the whole site). The payload is JSON:
   {title, body, icon, image, url, listing_id, actions: [{action, title, url}]}; see
   notifications/channels/push.py. Each action is a button ("Watch", "Stop watching") opening its URL;
   a click on the notification itself, or on "View deal", opens the deal as before. */
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let deal = {};
  try {
    deal = event.data ? event.data.json() : {};
  } catch (error) {
    deal = { body: event.data ? event.data.text() : "" };
  }
  // Browsers show a few buttons at most (Notification.maxActions, often 2): "View deal" first.
  const extra = (Array.isArray(deal.actions) ? deal.actions : []).filter((a) => a && a.action && a.url).slice(0, 1);
  const links = {};
  extra.forEach((a) => {
    links[a.action] = a.url;
  });
  const options = {
    body: deal.body || "",
    icon: deal.icon || undefined,
    image: deal.image || undefined,
    data: { url: deal.url || "/", listing_id: deal.listing_id || null, links: links },
    actions: [{ action: "view", title: "View deal" }].concat(extra.map((a) => ({ action: a.action, title: a.title }))),
    // The same news again replaces its unread notification, as the push service's Topic does; a
    // price drop does not replace the match of the same listing.
    tag: deal.tag || (deal.listing_id ? "listing-" + deal.listing_id : undefined),
    renotify: Boolean(deal.listing_id),
  };
  event.waitUntil(self.registration.showNotification(deal.title || "Deal Alerts", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const url = (event.action && data.links && data.links[event.action]) || data.url || "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url === url && "focus" in client);
      return open ? open.focus() : self.clients.openWindow(url);
    }),
  );
});

// The push service replaced this browser's subscription (it expired or its keys rotated): subscribe
// again with the same application server key and tell the site, proving it by the old endpoint.
self.addEventListener("pushsubscriptionchange", (event) => {
  const old = event.oldSubscription;
  const key = old && old.options ? old.options.applicationServerKey : null;
  event.waitUntil(
    (event.newSubscription
      ? Promise.resolve(event.newSubscription)
      : self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key })
    ).then((subscription) =>
      fetch("/api/push-subscriptions/renew", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...subscription.toJSON(), old_endpoint: old ? old.endpoint : "" }),
      }),
    ),
  );
});
