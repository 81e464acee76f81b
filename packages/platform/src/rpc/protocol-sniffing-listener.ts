import type { Server as Http1Server } from 'node:http';
import type { Http2Server } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

/** The HTTP/2 client connection preface (RFC 9113 §3.4), sent first by prior-knowledge h2c clients. */
const http2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Options of {@link createProtocolSniffingListener}. */
export interface ProtocolSniffingOptions {
  /** Receives sockets that start with the HTTP/2 preface (gRPC, Connect over h2c). */
  readonly http2: Http2Server;
  /** Receives every other socket (HTTP/1.1: Connect, gRPC-Web, curl, probes, /metrics). */
  readonly http1: Http1Server;
  /** A socket that has not sent enough bytes to classify it within this time is destroyed. */
  readonly sniffTimeoutMs?: number;
  /** Told about each socket once classified, for connection tracking and draining. */
  readonly onClassified?: (socket: Socket, protocol: 'http1' | 'http2') => void;
}

/**
 * A TCP listener that serves cleartext HTTP/2 (prior knowledge) and HTTP/1.1 on one port.
 * Node's `http2.createServer` cannot fall back to HTTP/1.1 without TLS (ALPN), yet gRPC clients
 * speak h2c and browsers/curl speak HTTP/1.1; so each connection's first bytes are read, compared
 * with the HTTP/2 preface, pushed back onto the socket (`unshift`) and the socket is handed to the
 * matching server with `emit('connection')`. No HTTP/1.1 request can start with "PRI * HTTP/2.0".
 */
export function createProtocolSniffingListener(options: ProtocolSniffingOptions): NetServer {
  const sniffTimeoutMs = options.sniffTimeoutMs ?? 10_000;
  return createNetServer((socket) => {
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), sniffTimeoutMs);
    const onError = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const compared = Math.min(received.length, http2Preface.length);
      const looksLikeHttp2 = received
        .subarray(0, compared)
        .equals(http2Preface.subarray(0, compared));
      if (looksLikeHttp2 && received.length < http2Preface.length) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
      socket.unshift(received);
      const protocol = looksLikeHttp2 ? 'http2' : 'http1';
      options.onClassified?.(socket, protocol);
      if (protocol === 'http2') {
        // Http2Session reads the bytes already buffered on the socket itself (nodejs/node#35475).
        options.http2.emit('connection', socket);
      } else {
        options.http1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('error', onError);
    socket.on('data', onData);
    socket.once('close', () => clearTimeout(timer));
  });
}
