/*
 * chat/icons.js: the small pictures of the team chat: the icons drawn once in chat.html
 * (<symbol id="icon-…">), a presence dot, an avatar letter. Built as elements, never
 * from markup strings.
 */

import { element } from '../page.js';

const SVG = 'http://www.w3.org/2000/svg';

/** An <svg> showing the symbol `#icon-{name}`, hidden from screen readers. */
export function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS(SVG, 'use');
  use.setAttribute('href', '#icon-' + name);
  svg.append(use);
  return svg;
}

/** A presence dot: green and filled when online, a hollow ring when not. */
export function presenceDot(online) {
  const dot = element('span', 'presence');
  dot.dataset.online = String(Boolean(online));
  dot.setAttribute('aria-hidden', 'true');
  return dot;
}

/** A round avatar with the first character of `name`. */
export function avatar(name, extraClass) {
  const el = element('span', 'avatar' + (extraClass ? ' ' + extraClass : ''), Array.from(name)[0] || '?');
  el.setAttribute('aria-hidden', 'true');
  return el;
}
