/*
 * settings/admin.js: what only an admin sees in the settings: the team's join link (to
 * copy and share, or to reset when it reached the wrong people) and everyone with an
 * active account, each but the admin themselves with a button to deactivate them.
 */

import { requestSignedIn } from '../account.js';
import { $ } from '../page.js';
import { copyField, failureText, formStatus } from '../forms.js';
import { afterConfirming } from './confirm.js';
import { listItem, rowButton } from './list.js';

const ROLE_TEXT = { admin: 'admin', member: 'member', bot: 'bot' };

const inviteUrl = $('invite-url');
const inviteStatus = $('invite-status');
const peopleStatus = $('people-status');
let me = null; // the signed-in admin, who cannot deactivate themselves here

/** The address people open to join: this server's origin and the code. */
function showInvite(code) {
  inviteUrl.value = window.location.origin + '/join/' + code;
}

async function loadInvite() {
  try {
    showInvite((await requestSignedIn('GET', '/api/invite')).code);
  } catch (err) {
    formStatus(inviteStatus, 'error', failureText(err, 'Could not load the join link'));
  }
}

function resetInvite() {
  return afterConfirming('Reset the join link? The current link stops working; everyone who already joined keeps their account.', 'Reset the link', {
    button: $('invite-reset'),
    status: inviteStatus,
    run: async () => showInvite((await requestSignedIn('POST', '/api/invite/reset')).code),
    done: 'A new link is ready; the old one no longer works.',
    failed: 'Could not reset the link',
  });
}

async function deactivate(user, button) {
  const ran = await afterConfirming('Deactivate ' + user.name + ' (@' + user.username + ')? They are signed out everywhere at once and cannot sign in again.', 'Deactivate', {
    button,
    status: peopleStatus,
    run: () => requestSignedIn('POST', '/api/users/' + encodeURIComponent(user.username) + '/deactivate'),
    done: user.name + ' is deactivated.',
    failed: 'Could not deactivate ' + user.name,
  });
  if (ran) await loadPeople();
}

async function loadPeople() {
  let users;
  try {
    users = (await requestSignedIn('GET', '/api/users')).users;
  } catch (err) {
    formStatus(peopleStatus, 'error', failureText(err, 'Could not load the people'));
    return;
  }
  users = Array.isArray(users) ? users.filter((u) => u && typeof u.username === 'string' && typeof u.name === 'string') : [];
  $('user-list').replaceChildren(...users.map((u) => {
    const isMe = u.username === me.username;
    const details = ['@' + u.username, ROLE_TEXT[u.role] || String(u.role)];
    if (u.online) details.push('online');
    if (isMe) details.push('you');
    const li = listItem({
      avatarText: Array.from(u.name)[0] || '?',
      title: u.name,
      details,
      actions: isMe ? [] : [rowButton('Deactivate', 'btn--danger', (button) => deactivate(u, button))],
    });
    li.dataset.username = u.username;
    return li;
  }));
}

/** Shows the admin's sections for `admin`, the signed-in user. */
export function setUpAdmin(admin) {
  me = admin;
  for (const el of document.querySelectorAll('.admin-only')) el.hidden = false;
  $('invite-copy').addEventListener('click', () => copyField(inviteUrl, $('invite-copy')));
  $('invite-reset').addEventListener('click', resetInvite);
  return Promise.all([loadInvite(), loadPeople()]);
}
