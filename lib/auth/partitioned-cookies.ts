// CHIPS: a SameSite=None cookie set inside a third-party iframe needs `Partitioned` to survive
// Chromium's third-party cookie blocking. next-auth 4 cannot emit the attribute, so it is appended.
export function partitionCookies(res: Response): Response {
  const cookies = res.headers.getSetCookie();
  if (!cookies.length) return res;
  const headers = new Headers(res.headers);
  headers.delete("set-cookie");
  for (const c of cookies) headers.append("set-cookie", /;\s*partitioned/i.test(c) ? c : `${c}; Partitioned`);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}
