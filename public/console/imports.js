// Importing devices from a file: the upload, then the job followed until it ends (rows done of the
// total, devices created and updated, refused rows with their line and column), then the tables
// re-read.
import { ApiError, accountPath, api } from "./api.js";
import { refreshDevices } from "./devices.js";
import { $, announce, cell, element, withButton } from "./dom.js";
import { refreshNumbers } from "./numbers.js";
import { clearErrors, showProblem } from "./problems.js";
import { state } from "./state.js";

/** How often a running job is read again (ms). */
const POLL_MS = 500;

const unfinished = (job) => job.state === "receiving" || job.state === "running";

export async function onImport(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const file = $("import-file").files?.[0];
  if (!file) {
    showProblem(form, new ApiError(0, { detail: "no file was chosen", errors: [{ field: "body", message: "choose a CSV or JSON file" }] }));
    return;
  }
  const format = $("import-format").value;
  const mode = $("import-mode").value;
  const type = file.name.toLowerCase().endsWith(".json") || file.type === "application/json" ? "application/json" : "text/csv";
  await withButton(form.querySelector("button[type=submit]"), async () => {
    showJob({ state: "receiving", total: 0, done: 0, errors: [] }, `Sending ${file.name}…`);
    let job;
    try {
      job = await api("POST", accountPath(`/imports?format=${encodeURIComponent(format)}&mode=${encodeURIComponent(mode)}`), undefined, state.key, { type, text: await file.text() });
    } catch (error) {
      $("import-progress").hidden = true;
      // A refused file names its rows: the sentence above the form, the rows in the table below it.
      const rows = error instanceof ApiError ? (error.problem.errors ?? []).filter((e) => e.row) : [];
      showProblem(form, rows.length > 0 ? new ApiError(error.status, { ...error.problem, errors: [] }) : error);
      if (rows.length > 0) showErrors(rows);
      return;
    }
    await follow(job);
  });
}

/** Read the job again until it ends, while its account stays open. */
async function follow(job) {
  const account = state.account;
  const token = (state.importFollow = {});
  while (unfinished(job)) {
    showJob(job);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (state.account !== account || state.importFollow !== token) return;
    try {
      job = await api("GET", accountPath(`/imports/${encodeURIComponent(job.id)}`));
    } catch (error) {
      if (state.account !== account) return;
      $("import-status").textContent = `The import's progress could not be read: ${error.message}`;
      return;
    }
    if (state.account !== account || state.importFollow !== token) return;
  }
  state.importFollow = null;
  showJob(job);
  announce(statusText(job));
  await Promise.all([refreshDevices(), refreshNumbers()]);
}

function statusText(job) {
  if (job.state === "failed") return `Import failed: ${job.detail ?? "nothing was imported"}`;
  const counts = `${job.created} added, ${job.updated} updated, ${job.refused} refused`;
  if (job.state === "done") return `Import done: ${job.total} rows — ${counts}.`;
  return `Importing: ${job.done} of ${job.total} rows — ${counts}.`;
}

function showJob(job, text = statusText(job)) {
  $("import-progress").hidden = false;
  $("import-status").textContent = text;
  const bar = $("import-bar");
  bar.max = Math.max(job.total, 1);
  bar.value = job.state === "done" ? bar.max : job.done;
  showErrors(job.errors ?? []);
}

function showErrors(errors) {
  if (errors.length > 0) $("import-progress").hidden = false;
  $("import-errors").hidden = errors.length === 0;
  $("import-errors-body").replaceChildren(
    ...errors.map((e) =>
      element("tr", {}, [cell("Row", String(e.row)), cell("Line", e.line === undefined ? "" : String(e.line)), cell("Column", element("span", { class: "mono" }, e.field)), cell("Why", e.message)]),
    ),
  );
}
