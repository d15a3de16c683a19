/*
 * settings/tokens.js: the user's API tokens, for bots and scripts. A new token is shown
 * exactly once: the server keeps only its hash, so this page is the only place it can
 * ever be read, which the page says beside it.
 */

import { requestSignedIn } from '../account.js';
import { $ } from '../page.js';
import { copyField, failureText, fieldError, formStatus, showProblems, whileBusy } from '../forms.js';
import { checkTokenName } from '../rules.js';
import { afterConfirming } from './confirm.js';
import { listItem, rowButton } from './list.js';

const list = $('token-list');
const status = $('token-status');

function createdText(ms) {
  const d = new Date(ms);
  if (typeof ms !== 'number' || isNaN(d.getTime())) return 'created at an unknown time';
  try { return 'created ' + d.toLocaleDateString(undefined, { dateStyle: 'medium' }); } catch (err) { return 'created ' + d.toDateString(); }
}

async function revoke(name, button) {
  const ran = await afterConfirming('Revoke the token “' + name + '”? Whatever uses it stops working at once.', 'Revoke', {
    button,
    status,
    run: () => requestSignedIn('DELETE', '/api/tokens/' + encodeURIComponent(name)),
    done: 'Token “' + name + '” revoked.',
    failed: 'Could not revoke it',
  });
  if (ran) await loadTokens();
}

async function loadTokens() {
  let tokens;
  try {
    tokens = (await requestSignedIn('GET', '/api/tokens')).tokens;
  } catch (err) {
    formStatus(status, 'error', failureText(err, 'Could not load your tokens'));
    return;
  }
  tokens = Array.isArray(tokens) ? tokens.filter((t) => t && typeof t.name === 'string') : [];
  list.replaceChildren(...tokens.map((t) => {
    const li = listItem({
      title: t.name,
      details: [createdText(t.created)],
      actions: [rowButton('Revoke', 'btn--danger', (button) => revoke(t.name, button))],
    });
    li.dataset.token = t.name;
    return li;
  }));
  $('tokens-empty').hidden = tokens.length > 0;
}

function reveal(name, token) {
  $('token-reveal-name').textContent = name;
  $('token-value').value = token;
  $('token-reveal').hidden = false;
  $('token-copy').focus();
}

function hideReveal() {
  $('token-value').value = '';
  $('token-reveal').hidden = true;
  $('token-name').focus();
}

async function create(event) {
  event.preventDefault();
  formStatus(status, 'ok', null);
  const { name, problem } = checkTokenName($('token-name').value);
  if (!showProblems([['token-name', problem]])) return;
  let created;
  try {
    created = await whileBusy($('token-submit'), () => requestSignedIn('POST', '/api/tokens', { name }));
  } catch (err) {
    if (err.status === 409) fieldError('token-name', 'You already have a token with that name.');
    else fieldError('token-name', failureText(err, 'Could not create it'));
    return;
  }
  $('token-name').value = '';
  reveal(created.name || name, String(created.token));
  await loadTokens();
}

export function setUpTokens() {
  $('token-form').addEventListener('submit', create);
  $('token-copy').addEventListener('click', () => copyField($('token-value'), $('token-copy')));
  $('token-done').addEventListener('click', hideReveal);
  $('token-name').addEventListener('input', () => fieldError('token-name', null));
  return loadTokens();
}
