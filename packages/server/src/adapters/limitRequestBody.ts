import { SessionError } from '@isosession/core';

/** 100 kB: far above any session write, far below what would strain a server (body-parser's default too). */
export const DEFAULT_MAX_BODY_BYTES = 100_000;

export function bodyTooLargeError(maxBytes: number): SessionError {
  return new SessionError('TOO_LARGE', `the request body is larger than ${maxBytes} bytes (maxBodyBytes); nothing was read past the limit`);
}

/** Whether the request's Content-Length already says its body is over `maxBytes`. */
export function declaredTooLarge(contentLength: string | null | undefined, maxBytes: number): boolean {
  if (contentLength === null || contentLength === undefined) return false;
  const length = Number(contentLength);
  return Number.isFinite(length) && length > maxBytes;
}

/**
 * The same request, whose body is counted as it is read: past `maxBytes` the read fails with
 * `tooLarge()` (by default a SessionError `TOO_LARGE`) and the rest is never pulled, so a
 * huge body costs at most `maxBytes` of memory, however it is sent (a chunked body has no
 * Content-Length to check first).
 */
export function limitRequestBody(request: Request, maxBytes: number, tooLarge: () => unknown = () => bodyTooLargeError(maxBytes)): Request {
  if (request.body === null) return request;
  const reader = request.body.getReader();
  let size = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      size += value.byteLength;
      if (size > maxBytes) {
        controller.error(tooLarge());
        void reader.cancel().catch(() => undefined);
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Request(request, { body, duplex: 'half' } as RequestInit);
}
