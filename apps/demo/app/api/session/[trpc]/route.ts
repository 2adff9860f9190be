import { createSessionRouteHandler } from '@isosession/next';
import { sessionRouter } from '@/lib/session';

export const dynamic = 'force-dynamic';

const handler = createSessionRouteHandler(sessionRouter, { endpoint: '/api/session' });

/** Demo knob: the page's `?latency=300` (sent as a header) or DEMO_LATENCY_MS, at most 5 s. */
function latencyOf(request: Request): number {
  const asked = Number(request.headers.get('x-demo-latency') ?? process.env.DEMO_LATENCY_MS ?? 0);
  return Number.isFinite(asked) ? Math.min(Math.max(asked, 0), 5000) : 0;
}

async function handle(request: Request): Promise<Response> {
  // The live stream is not delayed: latency stands for slow requests, not slow pushes.
  const ms = new URL(request.url).pathname.endsWith('/watch') ? 0 : latencyOf(request);
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  return handler(request);
}

export { handle as GET, handle as POST };
