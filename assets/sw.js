/*
 * sw.js: Parley's service worker, served at /sw.js so that its scope is the whole site.
 * It makes the pages an installable app and gives them an offline shell, and nothing more:
 *
 * - A page (a navigation) always comes from the network. When the network fails (the
 *   server is down, the laptop lost the LAN), the offline shell is shown instead of the
 *   browser's error page: "offline, retrying", and it goes back to the page it replaced
 *   as soon as the server answers again (offline.js).
 * - The shell's own files are kept in a cache, refreshed from the network whenever it
 *   answers, and read from the cache only when it does not.
 * - Nothing else is touched: the API (/api/), Socket.IO, files, health and metrics go
 *   straight to the network, so an answer or a message is never shown from a cache as if
 *   it were current. The pages' other scripts are not cached either: offline there is no
 *   page for them to run in, only the shell.
 * - A click on a notification focuses the window already showing its room, or opens the
 *   room (`data.url`, or `data.room` for /chat/{room}).
 */

const CACHE = 'parley-shell-v1';
const OFFLINE_PAGE = '/assets/offline.html';
const SHELL = [
  OFFLINE_PAGE,
  '/assets/js/offline.js',
  '/assets/css/parley.css',
  '/assets/favicon.svg',
];

self.addEventListener('install', (event) => {
  // The request is made anew (`reload`), so the shell is never filled from a stale HTTP cache.
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  // Older versions' caches go; the open pages are taken over at once, so that the page
  // that registered this worker gets the offline shell too, without a reload.
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

/** The network's answer, kept for later; the kept one when the network fails. */
async function shellFile(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match(request, { ignoreSearch: true });
    if (kept) return kept;
    throw err;
  }
}

/** The page from the network; the offline shell when there is no network answer at all. */
async function page(request) {
  try {
    return await fetch(request);
  } catch (err) {
    const shell = await caches.match(OFFLINE_PAGE);
    if (shell) return shell;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(page(request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(shellFile(request));
  }
  // Anything else: not answered here, so the browser asks the network as usual.
});

/** Where a notification leads: its own URL, or its room's page. */
function notificationUrl(data) {
  if (data && typeof data.url === 'string') return new URL(data.url, self.location.origin);
  if (data && typeof data.room === 'string') {
    return new URL('/chat/' + encodeURIComponent(data.room), self.location.origin);
  }
  return new URL('/', self.location.origin);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = notificationUrl(event.notification.data);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const showing = windows.find((client) => new URL(client.url).pathname === target.pathname);
    if (showing) return showing.focus();
    return self.clients.openWindow(target.href);
  })());
});
