/**
 * Sends hand-made request bodies (malformed on purpose) over each protocol the RPC server speaks,
 * and reads back the status code and message as a client of that protocol would see them.
 */
import http from 'node:http';
import http2 from 'node:http2';

/** The three wire protocols; Connect and gRPC-Web over HTTP/1.1, gRPC over HTTP/2. */
export type WireProtocol = 'connect' | 'grpc' | 'grpc-web';

/** What a call answered: the status code name (`invalid_argument`) and its message. */
export interface RawAnswer {
  readonly code: string;
  readonly message: string;
  readonly httpStatus: number;
}

const grpcCodeNames = [
  'ok',
  'canceled',
  'unknown',
  'invalid_argument',
  'deadline_exceeded',
  'not_found',
  'already_exists',
  'permission_denied',
  'resource_exhausted',
  'failed_precondition',
  'aborted',
  'out_of_range',
  'unimplemented',
  'internal',
  'unavailable',
  'data_loss',
  'unauthenticated',
];

/** The 5-byte length-prefixed frame of gRPC and gRPC-Web; flag 1 = the message is compressed. */
function envelope(body: Uint8Array, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(compressed ? 1 : 0, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function fromGrpcStatus(
  status: string | undefined,
  message: string | undefined,
  httpStatus: number,
): RawAnswer {
  return {
    code: grpcCodeNames[Number(status ?? 2)] ?? `grpc-status ${status}`,
    message: decodeURIComponent(message ?? ''),
    httpStatus,
  };
}

/**
 * Calls `procedure` (`/pkg.Service/Method`) on `baseUrl` with `body` as the request message, in
 * protobuf binary (`format: 'proto'`) or JSON (`'json'`), over `protocol`.
 */
export async function rawCall(
  baseUrl: string,
  procedure: string,
  protocol: WireProtocol,
  body: Uint8Array,
  options: {
    format?: 'proto' | 'json';
    headers?: Record<string, string>;
    /** A server-streaming method: Connect then frames the body as a stream (ignored otherwise). */
    streaming?: boolean;
    /**
     * `body` is already gzip-compressed: declared the way each protocol says so — Connect unary
     * by Content-Encoding, gRPC and gRPC-Web by the frame's compressed flag and grpc-encoding.
     */
    gzipped?: boolean;
  } = {},
): Promise<RawAnswer> {
  const format = options.format ?? 'proto';
  const gzipped = options.gzipped === true;
  const extraHeaders = {
    ...(gzipped
      ? protocol === 'connect'
        ? { 'content-encoding': 'gzip' }
        : { 'grpc-encoding': 'gzip' }
      : {}),
    ...(options.headers ?? {}),
  };
  if (protocol === 'connect' && options.streaming === true) {
    return connectStreamCall(baseUrl, procedure, body, format, extraHeaders);
  }
  if (protocol === 'grpc') {
    return grpcCall(baseUrl, procedure, envelope(body, gzipped), format, extraHeaders);
  }
  const contentType =
    protocol === 'connect' ? `application/${format}` : `application/grpc-web+${format}`;
  const payload = protocol === 'connect' ? Buffer.from(body) : envelope(body, gzipped);
  const { status, headers, data } = await http1Post(`${baseUrl}${procedure}`, payload, {
    'content-type': contentType,
    ...(protocol === 'connect' ? { 'connect-protocol-version': '1' } : {}),
    ...extraHeaders,
  });
  if (protocol === 'connect') {
    if (status === 200) return { code: 'ok', message: '', httpStatus: status };
    const parsed = JSON.parse(data.toString('utf8')) as { code?: string; message?: string };
    return { code: parsed.code ?? 'unknown', message: parsed.message ?? '', httpStatus: status };
  }
  // gRPC-Web: trailers-only in headers, or a trailer frame (flag 0x80) at the end of the body.
  if (headers['grpc-status'] !== undefined) {
    return fromGrpcStatus(
      String(headers['grpc-status']),
      headers['grpc-message'] as string,
      status,
    );
  }
  let offset = 0;
  while (offset + 5 <= data.length) {
    const flags = data[offset]!;
    const length = data.readUInt32BE(offset + 1);
    const frame = data.subarray(offset + 5, offset + 5 + length);
    if ((flags & 0x80) !== 0) {
      const trailers = new Map<string, string>();
      for (const line of frame.toString('utf8').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0)
          trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      return fromGrpcStatus(trailers.get('grpc-status'), trailers.get('grpc-message'), status);
    }
    offset += 5 + length;
  }
  return { code: 'no trailer', message: '', httpStatus: status };
}

function http1Post(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; data: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            data: Buffer.concat(chunks),
          }),
        );
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/**
 * One gRPC call over HTTP/2 with `frame` as the whole request. The server may answer and reset
 * the stream before it has read a large upload: the answer then still counts; only a stream that
 * closed without any status is an error.
 */
function grpcCall(
  baseUrl: string,
  procedure: string,
  frame: Buffer,
  format: 'proto' | 'json',
  headers: Record<string, string>,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.once('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': procedure,
      'content-type': `application/grpc+${format}`,
      te: 'trailers',
      ...headers,
    });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let failure: Error | undefined;
    stream.once('response', (h) => (responseHeaders = h));
    stream.once('trailers', (t: http2.IncomingHttpHeaders) => (trailers = t));
    stream.on('data', () => undefined);
    stream.on('error', (error: Error) => (failure ??= error));
    stream.once('close', () => {
      session.close();
      const status = trailers['grpc-status'] ?? responseHeaders['grpc-status'];
      const message = trailers['grpc-message'] ?? responseHeaders['grpc-message'];
      if (status === undefined && failure !== undefined) {
        reject(failure);
        return;
      }
      resolve(
        fromGrpcStatus(
          status === undefined ? undefined : String(status),
          message === undefined ? undefined : String(message),
          Number(responseHeaders[':status'] ?? 0),
        ),
      );
    });
    stream.end(frame);
  });
}

async function connectStreamCall(
  baseUrl: string,
  procedure: string,
  body: Uint8Array,
  format: 'proto' | 'json',
  headers: Record<string, string>,
): Promise<RawAnswer> {
  const { status, data } = await http1Post(`${baseUrl}${procedure}`, envelope(body), {
    'content-type': `application/connect+${format}`,
    'connect-protocol-version': '1',
    ...headers,
  });
  let offset = 0;
  while (offset + 5 <= data.length) {
    const flags = data[offset]!;
    const length = data.readUInt32BE(offset + 1);
    if ((flags & 0x02) !== 0) {
      const end = JSON.parse(data.subarray(offset + 5, offset + 5 + length).toString('utf8')) as {
        error?: { code?: string; message?: string };
      };
      return end.error === undefined
        ? { code: 'ok', message: '', httpStatus: status }
        : {
            code: end.error.code ?? 'unknown',
            message: end.error.message ?? '',
            httpStatus: status,
          };
    }
    offset += 5 + length;
  }
  return { code: 'no end-stream message', message: '', httpStatus: status };
}
