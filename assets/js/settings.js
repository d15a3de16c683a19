/*
 * settings.js: the settings page (/settings) of the signed-in user: display name,
 * password, API tokens (settings/tokens.js), signing out; for an admin also the join
 * link and the people (settings/admin.js). A server without accounts (open mode) does
 * not serve this page.
 */

import { requestSignedIn, whoAmI } from './account.js';
import { requestJson } from './http.js';
import { $ } from './page.js';
import { clearErrorsOnInput, failureText, fieldError, formStatus, newPasswordChecks, showProblems, whileBusy } from './forms.js';
import { checkName } from './rules.js';
import { setUpAdmin } from './settings/admin.js';
import { setUpTokens } from './settings/tokens.js';
import './app.js';

const SECTIONS = ['profile', 'password', 'tokens'];

function showUser(user) {
  $('me-username').textContent = '@' + user.username;
  $('me-role').textContent = user.role;
  $('display-name').value = user.name;
  $('password-username').value = user.username;
}

async function saveName(event) {
  event.preventDefault();
  const status = $('profile-status');
  formStatus(status, 'ok', null);
  const { name, problem } = checkName($('display-name').value);
  if (!showProblems([['display-name', problem]])) return;
  try {
    const { user } = await whileBusy($('profile-submit'), () => requestSignedIn('PATCH', '/api/me', { name }));
    if (user) showUser(user);
    formStatus(status, 'ok', 'Saved. New messages show this name.');
  } catch (err) {
    formStatus(status, 'error', failureText(err, 'Could not save it'));
  }
}

async function changePassword(event) {
  event.preventDefault();
  const status = $('password-status');
  formStatus(status, 'ok', null);
  const current = $('current-password').value;
  const ok = showProblems([
    ['current-password', current ? null : 'Please enter your current password.'],
    ...newPasswordChecks('new-password', 'new-password2'),
  ]);
  if (!ok) return;
  try {
    // Not requestSignedIn: here a 401 means a wrong current password, not a lost session.
    await whileBusy($('password-submit'), () => requestJson('PUT', '/api/me/password', {
      current_password: current,
      password: $('new-password').value,
    }));
  } catch (err) {
    if (err.status === 401) {
      fieldError('current-password', 'That is not your current password.');
      $('current-password').focus();
    } else {
      formStatus(status, 'error', failureText(err, 'Could not change it'));
    }
    return;
  }
  for (const id of ['current-password', 'new-password', 'new-password2']) $(id).value = '';
  formStatus(status, 'ok', 'Password changed.');
}

async function signOut() {
  try {
    await whileBusy($('sign-out'), () => requestJson('DELETE', '/api/session'));
  } catch (err) {
    // Already signed out (401) is what was asked for; anything else is worth saying.
    if (err.status !== 401) {
      formStatus($('page-status'), 'error', failureText(err, 'Could not sign out'));
      return;
    }
  }
  window.location.assign('/signin');
}

async function init() {
  const { user } = await whoAmI(() => formStatus($('page-status'), 'error', 'Could not reach the server; retrying…'));
  formStatus($('page-status'), 'error', null);
  // Open mode has nothing to set; only a page cached from before a restart gets here.
  if (!user) {
    window.location.replace('/');
    return;
  }
  showUser(user);
  for (const id of SECTIONS) $(id).hidden = false;
  $('settings-nav').hidden = false;
  $('sign-out').hidden = false;
  for (const form of ['profile-form', 'password-form']) clearErrorsOnInput($(form));
  $('profile-form').addEventListener('submit', saveName);
  $('password-form').addEventListener('submit', changePassword);
  $('sign-out').addEventListener('click', signOut);
  const loading = [setUpTokens()];
  if (user.role === 'admin') loading.push(setUpAdmin(user));
  await Promise.all(loading);
}

init();
