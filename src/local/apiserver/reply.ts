import type { OutgoingHttpHeaders } from 'node:http';

/** What a plain (non-streaming) handler answers. */
export interface Reply {
  code: number;
  body: unknown;
  headers?: OutgoingHttpHeaders;
}
