// Whistle Edge console: plain ES modules, no framework, no build step. This entry wires the page up.
import { ApiError } from "./api.js";
import { onCreateDevice } from "./devices.js";
import { $ } from "./dom.js";
import { hideCredential } from "./fleet.js";
import { onImport } from "./imports.js";
import { route } from "./router.js";
import { adopt, identify, onSignIn, signOut } from "./session.js";
import { KEY_STORAGE, state } from "./state.js";

async function start() {
  $("sign-in-form").addEventListener("submit", onSignIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("create-device-form").addEventListener("submit", onCreateDevice);
  $("import-form").addEventListener("submit", onImport);
  $("credential-done").addEventListener("click", () => {
    hideCredential();
    $("switches-title").focus();
  });
  addEventListener("hashchange", () => state.key && route());
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (!saved) return signOut();
  try {
    adopt(saved, await identify(saved));
  } catch (error) {
    signOut(error instanceof ApiError && error.status === 401 ? "The saved API key is no longer accepted. Sign in again." : `Could not reach the edge: ${error.message}`);
    return;
  }
  await route();
}

start();
