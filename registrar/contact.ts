// Reading the parts of SIP addresses the registrar compares: a name-addr's URI, a URI's user and host.

/** The URI of a name-addr (`"Bob" <sip:bob@host;transport=udp>;expires=60`), or the text itself if it is a bare URI. */
export function uriOfNameAddr(nameAddr: string): string {
  const open = nameAddr.indexOf("<");
  const close = nameAddr.indexOf(">", open + 1);
  if (open !== -1 && close !== -1) return nameAddr.slice(open + 1, close).trim();
  return nameAddr.trim().split(";")[0]!.trim();
}

/** User and host (no port, lowercase host) of a `sip:`/`sips:` URI; null when it is not one. */
export function userAndHost(uri: string): { user: string | null; host: string } | null {
  const match = /^sips?:(?:([^@;?]*)@)?(\[[^\]]+\]|[^:;?>]+)/i.exec(uri.trim());
  if (!match) return null;
  return { user: match[1] ?? null, host: match[2]!.toLowerCase() };
}

/** Does a stored contact URI name this user at this host (any port, any parameters)? */
export function contactIs(uri: string, user: string, host: string): boolean {
  const parts = userAndHost(uri);
  return parts !== null && parts.user === user && parts.host === host.toLowerCase();
}
