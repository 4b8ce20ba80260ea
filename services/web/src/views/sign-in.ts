/** Sign in with an app token: pasted here, or given in the URL fragment (#token=...). */
import { h } from '../dom.js';

export function signInView(reason: string | null, onToken: (token: string) => void): HTMLElement {
  const input = h('textarea', {
    name: 'token',
    rows: 4,
    placeholder: 'eyJhbGciOi…',
    spellcheck: false,
    autocomplete: 'off',
    'data-testid': 'token-input',
  });
  const form = h(
    'form',
    { class: 'sign-in card', 'data-testid': 'sign-in' },
    h('h2', {}, 'Sign in'),
    reason ? h('p', { class: 'notice bad', 'data-testid': 'sign-in-reason' }, reason) : null,
    h('label', {}, 'App token', input),
    h(
      'p',
      { class: 'small muted' },
      'Mint one with ',
      h('code', {}, "npm run token -- app <you> --robots '*' --grants view,talk,drive"),
      '. A link of the form ',
      h('code', {}, '/#token=…'),
      ' signs in directly; the fragment never reaches the server and is removed from the address bar.',
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.value.trim()) onToken(input.value.trim());
  });
  return h('div', { class: 'center' }, form);
}
