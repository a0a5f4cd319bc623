import './style.css';
import { ApiError, getKey, listCollections, onAuthProblem, setKey, type Collection } from './api.js';
import { renderCollectionsView } from './collections-view.js';
import { renderMapView } from './map-view.js';
import { renderSearchView } from './search-view.js';
import { resetTokenizer } from './token-counter.js';

const main = document.getElementById('main')!;
const status = document.getElementById('status')!;
const dialog = document.getElementById('key-dialog') as HTMLDialogElement;
const keyInput = document.getElementById('key-input') as HTMLInputElement;
const keyReason = document.getElementById('key-reason')!;

let cached: Promise<Collection[]> | undefined;
const collections = (refresh = false) => {
  if (refresh || !cached) cached = listCollections();
  cached.catch(() => { cached = undefined; });
  return cached;
};

function showError(err: unknown): void {
  const text = err instanceof ApiError ? err.message : err instanceof Error ? `Request failed: ${err.message}` : String(err);
  status.textContent = text;
  status.className = 'error';
  status.dataset.status = err instanceof ApiError ? String(err.status) : '';
}

function clearError(): void {
  status.textContent = '';
  status.className = '';
  delete status.dataset.status;
}

function askForKey(reason: string): void {
  keyReason.textContent = reason;
  keyInput.value = '';
  if (!dialog.open) dialog.showModal();
  keyInput.focus();
}

onAuthProblem((err) => {
  askForKey(err.status === 401
    ? `${err.message} — Enter an API key; it is kept in this browser tab only (sessionStorage).`
    : `${err.message} — Enter a key with more scope, or cancel.`);
});

dialog.addEventListener('close', () => {
  if (dialog.returnValue === 'save' && keyInput.value.trim() !== '') setKey(keyInput.value.trim());
  else if (dialog.returnValue === 'forget') setKey(null);
  else return;
  cached = undefined;
  resetTokenizer();
  clearError();
  route();
});
document.getElementById('key-button')!.addEventListener('click', () => askForKey(getKey() ? 'A key is set for this tab. Enter another, or forget it.' : 'Enter an API key; it is kept in this browser tab only (sessionStorage).'));

function route(): void {
  const view = location.hash.replace(/^#/, '').split('?')[0] || 'search';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-view]')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const deps = { collections, showError, clearError };
  if (view === 'collections') renderCollectionsView(main, deps);
  else if (view === 'map') renderMapView(main, { ...deps, moreLikeThis: (c, id) => { history.pushState(null, '', `/?c=${encodeURIComponent(c)}&like=${encodeURIComponent(id)}#search`); route(); } });
  else renderSearchView(main, deps);
  main.dataset.view = view;
}

window.addEventListener('popstate', route);
// Keyboard-first: "/" jumps to the search box from anywhere but a text field.
document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || t.closest('input, textarea, select, [contenteditable]') || dialog.open) return;
  const q = document.getElementById('q');
  if (q) { e.preventDefault(); q.focus(); }
  else { e.preventDefault(); location.hash = '#search'; }
});
route();
