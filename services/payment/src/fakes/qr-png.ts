/**
 * The fake MercadoPago's QR image: the Pix copy-paste code as a real, scannable QR code (the
 * `qrcode` package computes the symbol) written as a 1-bit grayscale PNG. Synchronous, because the
 * fake answers each request synchronously (its idempotent replays rely on it); the PNG container is
 * a few lines of `node:zlib` and a CRC, as the PNG specification describes.
 */
import { deflateSync } from 'node:zlib';
import QRCode from 'qrcode';

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** `text` as a QR code PNG, `scale` pixels per module with a 4-module quiet zone; base64. */
export function qrPngBase64(text: string, scale = 4): string {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const quiet = 4;
  const side = (modules.size + 2 * quiet) * scale;
  const rowBytes = Math.ceil(side / 8);
  const raw = Buffer.alloc((rowBytes + 1) * side); // each row: filter byte 0, then bits (1 = white)
  for (let y = 0; y < side; y += 1) {
    const my = Math.floor(y / scale) - quiet;
    for (let x = 0; x < side; x += 1) {
      const mx = Math.floor(x / scale) - quiet;
      const dark =
        my >= 0 &&
        mx >= 0 &&
        my < modules.size &&
        mx < modules.size &&
        modules.data[my * modules.size + mx] === 1;
      const at = y * (rowBytes + 1) + 1 + (x >> 3);
      if (!dark) raw[at] = (raw[at] ?? 0) | (0x80 >> (x & 7));
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]).toString('base64');
}
