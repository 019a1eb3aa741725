// The household site as an installed app. The dashboard and the figures it last fetched
// stay readable offline (the page then says it is offline and as of when); everything
// else needs the network. Static files are kept per version (their URLs change with them).
"use strict";
const VERSION = "{{ version }}";
const STATIC = "celc-static-" + VERSION;
const PAGES = "celc-pages"; // the household's own: cleared when it signs out (pwa.js)
const ASSETS = [{% for url in assets %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
const KEPT = ["{% url 'dashboard' %}", "{% url 'api-quote' %}", "{% url 'api-summary' %}", "{% url 'javascript-catalog' %}"];
// Said in every language of the site: the worker outlives a change of language.
const OFFLINE = "{{ offline|escapejs }}";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith("celc-static-") && key !== STATIC).map((key) => caches.delete(key))
      ))
      .then(() => self.clients.claim())
  );
});

// The network first, so that an online page is always the server's; the last good answer
// when there is no network.
// The household's copy goes as soon as the server says the browser is not signed in as it
// any more (a password changed elsewhere, a session ended): sent to sign in, 401 or 403.
async function networkFirst(request) {
  const cache = await caches.open(PAGES);
  try {
    const response = await fetch(request);
    if (response.redirected || response.status === 401 || response.status === 403) {
      await caches.delete(PAGES);
    } else if (response.ok) {
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const kept = await cache.match(request, { ignoreSearch: true });
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (KEPT.includes(url.pathname)) {
    const kept = networkFirst(request);
    event.respondWith(request.mode === "navigate" ? kept.catch(offline) : kept);
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
  } else if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => caches.open(PAGES)
        .then((cache) => cache.match(KEPT[0]))
        .then((kept) => kept || offline()))
    );
  }
});

function offline() {
  return new Response(OFFLINE, {
    status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" }
  });
}
