// One line per request on stdout, in Envoy's default access log format:
// [START_TIME] "METHOD PATH PROTOCOL" CODE FLAGS BYTES_RECEIVED BYTES_SENT DURATION UPSTREAM_SERVICE_TIME
// "X-FORWARDED-FOR" "USER-AGENT" "X-REQUEST-ID" "AUTHORITY" "UPSTREAM_HOST"

export interface AccessLogEntry {
  start: Date;
  method: string;
  path: string;
  protocol: string;
  status: number;
  flags: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamServiceTimeMs: number | undefined;
  forwardedFor: string | undefined;
  userAgent: string | undefined;
  requestId: string | undefined;
  authority: string;
  upstreamHost: string | undefined;
  upstreamCluster: string | undefined;
}

export type AccessLogSink = (entry: AccessLogEntry) => void;

const dash = (v: string | number | undefined): string => (v === undefined || v === '' ? '-' : String(v));

export function formatAccessLog(e: AccessLogEntry): string {
  return (
    `[${e.start.toISOString()}] "${e.method} ${e.path} ${e.protocol}" ${e.status} ${dash(e.flags)} ${e.bytesReceived} ${e.bytesSent} ` +
    `${Math.round(e.durationMs)} ${dash(e.upstreamServiceTimeMs === undefined ? undefined : Math.round(e.upstreamServiceTimeMs))} ` +
    `"${dash(e.forwardedFor)}" "${dash(e.userAgent)}" "${dash(e.requestId)}" "${dash(e.authority)}" "${dash(e.upstreamHost)}" ${dash(e.upstreamCluster)}\n`
  );
}

export const stdoutAccessLog: AccessLogSink = (e) => {
  process.stdout.write(formatAccessLog(e));
};
