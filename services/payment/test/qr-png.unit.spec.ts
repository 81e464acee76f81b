/** The fake MercadoPago's QR image is a real PNG of the code's QR symbol. */
import { inflateSync } from 'node:zlib';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { qrPngBase64 } from '../src/fakes/qr-png.js';

describe('fake Pix QR image', () => {
  it('draws every module of the QR symbol, with a white quiet zone', () => {
    const code = '00020126580014br.gov.bcb.pix0136test5204000053039865405 20.005802BR6304FAKE';
    const png = Buffer.from(qrPngBase64(code, 2), 'base64');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const side = png.readUInt32BE(16);
    const { modules } = QRCode.create(code, { errorCorrectionLevel: 'M' });
    expect(side).toBe((modules.size + 8) * 2);
    const idat = png.indexOf('IDAT');
    const raw = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
    const rowBytes = Math.ceil(side / 8) + 1;
    const white = (x: number, y: number) =>
      ((raw[y * rowBytes + 1 + (x >> 3)] ?? 0) & (0x80 >> (x & 7))) !== 0;
    expect(white(0, 0)).toBe(true);
    for (let my = 0; my < modules.size; my += 1) {
      for (let mx = 0; mx < modules.size; mx += 1) {
        const dark = modules.data[my * modules.size + mx] === 1;
        expect(white((mx + 4) * 2, (my + 4) * 2)).toBe(!dark);
      }
    }
  });
});
