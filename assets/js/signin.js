/*
 * signin.js: the sign-in page (/signin?next=…). A wrong username and a wrong password get
 * the same answer from the server and the same sentence here, so the page tells nobody
 * which usernames exist. After signing in, the browser goes back where it came from
 * (`next`, only ever a path of this site: account.js) or to the lobby.
 */

import { safeNext } from './account.js';
import { requestJson } from './http.js';
import { $ } from './page.js';
import { clearErrorsOnInput, failureText, formStatus, showProblems, whileBusy } from './forms.js';
import { checkUsername } from './rules.js';
import './app.js';

const form = $('signin-form');
const status = $('signin-status');
const usernameInput = $('username');
const passwordInput = $('password');

const next = () => safeNext(new URLSearchParams(window.location.search).get('next'));

async function submit(event) {
  event.preventDefault();
  formStatus(status, 'error', null);
  // Only "is anything there": the username rules are not the sign-in page's business.
  const { username } = checkUsername(usernameInput.value);
  const password = passwordInput.value;
  const filled = showProblems([
    ['username', username ? null : 'Please enter your username.'],
    ['password', password ? null : 'Please enter your password.'],
  ]);
  if (!filled) return;
  try {
    await whileBusy($('signin-submit'), () => requestJson('POST', '/api/session', { username, password }));
  } catch (err) {
    // The same sentence for an unknown username and a wrong password, as the server's.
    const wrong = err.status === 401;
    formStatus(status, 'error', wrong ? 'Wrong username or password' : failureText(err, 'Could not sign in'));
    if (wrong) {
      passwordInput.value = '';
      passwordInput.focus();
    }
    return;
  }
  window.location.replace(next());
}

clearErrorsOnInput(form);
form.addEventListener('submit', submit);
usernameInput.focus();

// Before the first administrator exists nobody can sign in: the first step is the setup
// page. (Not GET /api/me to skip the form when already signed in: signed out, the usual
// case here, it answers 401, which the browser's console reports as an error.)
requestJson('GET', '/api/setup').then((setup) => {
  if (setup.needed) window.location.replace('/setup');
}, () => {
  // Signing in is still worth a try.
});
