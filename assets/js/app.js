/*
 * app.js: makes the pages an installable app. It registers the service worker (sw.js,
 * scope `/`), which gives them the offline shell and lets browsers offer to install Parley
 * (the manifest is linked from each page's head). Browsers allow service workers only in a
 * secure context, HTTPS or localhost (README: HTTPS); elsewhere this does nothing.
 * Every page entry module imports it once.
 */

if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
    // The pages work without it; the console says why there is no offline shell.
    console.warn('Parley: the service worker was not registered:', err);
  });
}
