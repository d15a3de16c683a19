/*
 * join.js: the join page (/join/{code}), where someone with the team's join link creates
 * their own account (a member) and is signed in with it. An admin can reset the link at
 * any time, so an old link is expected and explained, not an error page.
 */

import { requestJson } from './http.js';
import { $ } from './page.js';
import {
  addNewAccountFields, clearErrorsOnInput, failureText, fieldError, formStatus, readNewAccount, whileBusy,
} from './forms.js';
import './app.js';

const form = $('join-form');
const status = $('join-status');

/** The code in the address, as it is written there (the server judges it). */
function codeFromPath() {
  const m = window.location.pathname.match(/^\/join\/([^/]+)\/?$/);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch (err) { return null; }
}

const STALE_LINK = 'This join link is not valid any more; ask for a new one';

async function submit(event) {
  event.preventDefault();
  formStatus(status, 'error', null);
  const code = codeFromPath();
  if (!code) {
    formStatus(status, 'error', STALE_LINK);
    return;
  }
  const account = readNewAccount();
  if (!account) return;
  try {
    await whileBusy($('join-submit'), () => requestJson('POST', '/api/join/' + encodeURIComponent(code), account));
  } catch (err) {
    if (err.status === 409) {
      fieldError('username', 'That username is taken');
      $('username').focus();
    } else {
      formStatus(status, 'error', err.status === 404 ? STALE_LINK : failureText(err, 'Could not create the account'));
    }
    return;
  }
  window.location.assign('/');
}

addNewAccountFields($('account-fields'), { username: 'bob', name: 'Bob Lee' });
clearErrorsOnInput(form);
form.addEventListener('submit', submit);
$('username').focus();
