// Problem documents shown next to the fields they name, or in the account's banner.
import { ApiError } from "./api.js";
import { $ } from "./dom.js";

let errorIds = 0;

export function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function fieldInput(form, field) {
  const input = form.elements.namedItem(field);
  return input instanceof HTMLElement ? input : null;
}

export function showProblem(form, error) {
  clearErrors(form);
  const problem = error instanceof ApiError ? error.problem : { title: "Error", detail: String(error?.message ?? error) };
  const others = [];
  let first = null;
  for (const { field, message } of problem.errors ?? []) {
    const input = fieldInput(form, field);
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (input && slot) {
      slot.textContent = slot.hidden ? message : `${slot.textContent}; ${message}`;
      slot.hidden = false;
      slot.id ||= `error-${++errorIds}`;
      input.setAttribute("aria-invalid", "true");
      const described = new Set((input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
      described.add(slot.id);
      input.setAttribute("aria-describedby", [...described].join(" "));
      first ??= input;
    } else {
      others.push(field ? `${field}: ${message}` : message);
    }
  }
  const summary = form.querySelector('[data-error-for="_form"]');
  if (summary) {
    const head = problemSentence(problem, form.dataset.failure);
    summary.textContent = others.length ? `${head} (${others.join("; ")})` : head;
    summary.hidden = false;
  }
  (first ?? summary)?.focus?.();
}

function problemSentence(problem, failure) {
  const detail = problem.detail ? capitalise(problem.detail) : "";
  if (problem.status === 401) return `The API key was not accepted. ${detail}.`;
  const head = failure ?? problem.title;
  return head ? `${head}: ${problem.detail || "the request was refused"}${problem.status ? ` (${problem.status} ${problem.title ?? ""})`.replace(" )", ")") : ""}.` : `${detail}.`;
}

const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

export function bannerError(error, what) {
  const banner = $("account-error");
  const problem = error instanceof ApiError ? error.problem : { detail: String(error) };
  banner.textContent = `${what}: ${problem.detail ?? problem.title}${problem.errors?.length ? ` (${problem.errors.map((e) => `${e.field}: ${e.message}`).join("; ")})` : ""}`;
  banner.hidden = false;
}
