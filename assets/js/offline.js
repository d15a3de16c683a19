/*
 * offline.js: the offline shell (offline.html), which the service worker shows in place of
 * a page whose server could not be reached. It says "offline, retrying", asks the server
 * whether it is back (GET /healthz, never from a cache) every few seconds, a little less
 * often the longer it takes, and then loads the page that was asked for: the address bar
 * still holds its address.
 */

const FIRST_TRY_MS = 1000;
const LONGEST_WAIT_MS = 10000;

const status = document.getElementById('offline-status');
const detail = document.getElementById('offline-detail');
let wait = FIRST_TRY_MS;
let timer = null;

async function serverAnswers() {
  try {
    const res = await fetch('/healthz', { cache: 'no-store' });
    return res.ok;
  } catch (err) {
    return false;
  }
}

async function attempt() {
  clearTimeout(timer);
  status.textContent = 'offline, retrying';
  if (await serverAnswers()) {
    status.textContent = 'back online, loading…';
    status.dataset.state = 'connected';
    window.location.reload();
    return;
  }
  detail.textContent = 'Trying again in ' + Math.round(wait / 1000) + ' s; this page comes back by itself as soon as the server answers.';
  timer = setTimeout(attempt, wait);
  wait = Math.min(wait * 1.5, LONGEST_WAIT_MS);
}

document.getElementById('offline-retry').addEventListener('click', () => {
  wait = FIRST_TRY_MS;
  attempt();
});
window.addEventListener('online', () => { wait = FIRST_TRY_MS; attempt(); });
timer = setTimeout(attempt, wait);
