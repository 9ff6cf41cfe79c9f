// RFC 9457 problem documents: every error the edge answers in JSON is one, naming the field at
// fault — the provisioning API's, and the switch adapters' (the FreeSWITCH event hook, Kamailio).
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export interface FieldError {
  /** Dotted path of the offending field, e.g. `policy.minExpires`, `username`, `body`. */
  field: string;
  message: string;
  /** Imports: the data row at fault (1-based) and, for CSV, the line where it starts. */
  row?: number;
  line?: number;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function problemResponse(status: ContentfulStatusCode, detail: string, errors?: FieldError[]): Response {
  const body: Problem = {
    type: `https://whistle-edge.dev/problems/${status}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    ...(errors && errors.length > 0 && { errors }),
  };
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="whistle-edge"';
  return new Response(JSON.stringify(body), { status, headers });
}

/** Thrown by handlers and helpers; the app's error handler answers it as a problem document. */
export class ProblemError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }

  toResponse(): Response {
    return problemResponse(this.status, this.detail, this.errors);
  }
}

/** The error handler of every Hono app here: problems as documents, anything else as a logged 500. */
export function answerError(error: Error): Response {
  if (error instanceof ProblemError) return error.toResponse();
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const field = status === 415 ? "Content-Type" : "body";
    const detail = error.message || "bad request";
    return problemResponse(status, detail, [{ field, message: detail }]);
  }
  console.error("unhandled error", error);
  return problemResponse(500, "the edge could not complete the request");
}
