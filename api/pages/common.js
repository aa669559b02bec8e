// Shared by the map and the assurance page: the user's key (kept in the browser), the
// sign-in dialog, and HTML escaping. Loaded before each page's own script.
const store = window.localStorage;
let key = store.getItem("fibersync.key");
const $ = id => document.getElementById(id);

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

function signIn() {
  const dialog = $("sign-in");
  if (dialog.open) return;
  dialog.showModal();
  $("sign-in-form").onsubmit = () => {
    key = $("key").value.trim();
    store.setItem("fibersync.key", key);
    location.reload();
  };
}
