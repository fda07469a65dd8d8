// Why a fetch() failed, in one word where possible (ECONNREFUSED, ETIMEDOUT, "bad port"), instead of
// undici's "fetch failed".
//
// Exports: fetchFailure(err) -> string.
export function fetchFailure(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } };
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.errors?.[0]?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
