// Every error the gateway answers is `{"error": "<a sentence a person understands>"}` (the
// contract), including the ones Fastify and Node's HTTP parser produce before a route runs:
// a broken percent-encoding, an over-long path parameter, oversized headers, malformed HTTP.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** What a fault inside Porthole is answered with (the details go to the log only). */
export const INTERNAL_ERROR = 'Something went wrong inside Porthole. Try again; if it keeps happening, tell your administrator.';

/** Sentences for errors raised by Fastify or its plugins, whose own messages are terse or technical. */
const BY_CODE: Record<string, string> = {
  FST_ERR_BAD_URL: 'This address is not valid: it holds a broken percent-encoding.',
  FST_ERR_MAX_PARAM_LENGTH: 'This address is too long.',
  FST_ERR_CTP_INVALID_JSON_BODY: "The request's body is not valid JSON.",
  FST_ERR_CTP_EMPTY_JSON_BODY: "The request's body is empty; it must be JSON.",
  FST_ERR_CTP_BODY_TOO_LARGE: "The request's body is too large.",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "The request's body must be JSON (Content-Type: application/json).",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "The request's Content-Length does not match its body.",
};

/** By status, for errors whose message is not a sentence (such as @fastify/static's "Forbidden"). */
const BY_STATUS: Record<number, string> = {
  400: 'The request is not valid.',
  403: 'You may not open this address.',
  404: 'There is nothing at this address.',
  405: 'This address does not answer that method.',
  408: 'The request took too long to arrive; try again.',
  413: 'The request is too large.',
  414: 'This address is too long.',
  415: "The request's body must be JSON (Content-Type: application/json).",
  431: "The request's headers are too large.",
};

/** The sentence to answer for a client error (status below 500). */
export function clientErrorSentence(status: number, error: { code?: string; message: string }): string {
  if (error.code && BY_CODE[error.code]) return BY_CODE[error.code]!;
  if (/[.!?]$/.test(error.message.trim())) return error.message;
  return BY_STATUS[status] ?? `The request could not be served (HTTP ${status}).`;
}

/** Fastify's `frameworkErrors`: errors found while routing, before any hook runs. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : error.code === 'FST_ERR_BAD_URL' ? 400 : 500;
  const message = status === 500 ? INTERNAL_ERROR : clientErrorSentence(status, error);
  void reply.code(status).send({ error: message });
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the request (oversized headers,
 * malformed HTTP, a request that never finished); answered on the raw socket, which then closes.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({ error: status === 400 ? 'The request is not valid HTTP.' : BY_STATUS[status] });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
