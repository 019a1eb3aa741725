// Installable: the service worker (/sw.js) keeps the dashboard readable offline. A page
// seen signed out forgets what it kept of a household's (a shared phone).
(function () {
  "use strict";
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  var signedIn = document.querySelector('meta[name="celc-signed-in"]');
  if (signedIn && signedIn.content !== "1" && "caches" in window) {
    window.caches.delete("celc-pages");
  }
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {
      /* no offline copy, the site works as before */
    });
  });
})();
