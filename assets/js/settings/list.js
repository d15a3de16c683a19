/*
 * settings/list.js: one row of the settings' lists (tokens, people): a title, details
 * under it, and buttons on the right, so that both lists look and wrap alike.
 */

import { element } from '../page.js';

/** A row: `avatarText` (or none), `title`, `details` (strings), then `actions` (elements). */
export function listItem({ avatarText, title, details, actions }) {
  const li = element('li', 'item');
  if (avatarText) {
    const avatar = element('span', 'avatar', avatarText);
    avatar.setAttribute('aria-hidden', 'true');
    li.append(avatar);
  }
  const main = element('div', 'item__main');
  main.append(element('span', 'item__title', title));
  const detailLine = element('span', 'item__details');
  for (const d of details) detailLine.append(element('span', 'item__detail', d));
  main.append(detailLine);
  li.append(main);
  if (actions.length) {
    const box = element('div', 'item__actions');
    box.append(...actions);
    li.append(box);
  }
  return li;
}

/** A small button for a row, running `onClick`. */
export function rowButton(label, className, onClick) {
  const button = element('button', 'btn btn--small ' + className, label);
  button.type = 'button';
  button.addEventListener('click', () => onClick(button));
  return button;
}
